"""Layer 2: MPEG-TS packets, PSI, PES timestamps, access units, sections and the scanner."""
