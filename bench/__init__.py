"""Benchmarks and measurements of idflow, kept out of the product packages.

Installed with the `bench` extra (`pip install -e '.[bench]'`, which also brings PassportEye to
compare against) and run as `idflow bench ...`:

- `read` (`idflow bench`): MRZ read rate, per-field accuracy, speed and memory on a folder;
- `verify` (`idflow bench-verify`): whole-verify time and the face match's error rates;
- `web` (`idflow bench-web`): the hosted pages under load, memory while photos upload;
- `webhooks` (`idflow bench-webhooks`): webhook delay after a verdict and throughput;
- `scale` (`idflow bench-scale`): verifications per minute across web and worker processes;
- `servers`: throwaway PostgreSQL, Redis and S3 servers (for `scale` and the tests);
- `quality` (`python -m bench.quality`): the figures behind the quality thresholds;
- `liveness` (`python -m bench.liveness`): the selfie challenge on real clips and attacks.
"""
