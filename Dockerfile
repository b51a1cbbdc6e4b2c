# idflow web app: gunicorn behind your TLS proxy. Build: docker build -t idflow .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    IDFLOW_DATA_DIR=/data \
    IDFLOW_MODELS_DIR=/opt/idflow/models

RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        tesseract-ocr tesseract-ocr-eng fonts-ocr-b fonts-dejavu-core curl ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# The YuNet face detector (MIT, OpenCV model zoo), pinned by checksum.
RUN mkdir -p /opt/idflow/models \
    && curl -fsSL -o /opt/idflow/models/face_detection_yunet_2023mar.onnx \
        https://github.com/opencv/opencv_zoo/raw/main/models/face_detection_yunet/face_detection_yunet_2023mar.onnx \
    && echo "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4  /opt/idflow/models/face_detection_yunet_2023mar.onnx" \
        | sha256sum -c -

WORKDIR /opt/idflow/app
COPY pyproject.toml README.md ./
COPY processing ./processing
COPY webapp ./webapp
COPY idflow_signature ./idflow_signature
COPY templates ./templates
COPY static ./static
# Editable, so the app finds the top-level templates/ and static/ folders beside its code.
RUN pip install -e '.[postgres,redis,s3]'

RUN useradd --system --create-home --home-dir /home/idflow idflow \
    && mkdir -p /data && chown idflow:idflow /data
USER idflow
VOLUME ["/data"]
EXPOSE 8000

# `idflow serve` applies the database migrations, then starts gunicorn.
CMD ["idflow", "serve", "--host", "0.0.0.0", "--port", "8000"]
