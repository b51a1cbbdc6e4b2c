"""idflow's document reader: image bytes in, a typed result out; no web framework, no database."""

import os

# Tesseract reads this when it starts, in this process (`processing.tesseract` loads it after this
# import). Its OpenMP threads fight each other on small images: with one thread an MRZ band reads
# about 5x faster on 2 cores, a page 3x.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")
