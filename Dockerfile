# GPU image of nnclr: `docker build -t nnclr .` then
# `docker run --gpus all -v $HOME/tensorflow_datasets:/data nnclr --mode pretrain --data-dir /data --run-dir /data/runs/a`.
#
# The build stage runs the same `make setup` as CI, pointed at the GPU build of TensorFlow 2.18
# (the tensorflow[and-cuda] wheel, whose libtensorflow_cc has the CUDA kernels and whose NVIDIA
# wheels carry CUDA 12 and cuDNN 9), or, with --build-arg NNCLR_TF_PREFIX=/opt/libtensorflow and
# the official GPU libtensorflow tarball unpacked there (COPY it in first), at that library.
# The runtime stage holds only bin/ and the libraries collect-runtime.sh gathers.

ARG GO_IMAGE=golang:1.26-bookworm
ARG BUILD_IMAGE=ubuntu:22.04
ARG RUNTIME_IMAGE=nvidia/cuda:12.5.1-base-ubuntu22.04

FROM ${GO_IMAGE} AS go

FROM ${BUILD_IMAGE} AS build
ARG NNCLR_TF_PREFIX=
ENV DEBIAN_FRONTEND=noninteractive PATH=/usr/local/go/bin:$PATH
# Build tools from the distribution; their versions follow Ubuntu's security updates (not pinned).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends make gcc libc6-dev binutils git ca-certificates python3 python3-venv python3-pip \
 && rm -rf /var/lib/apt/lists/*
COPY --from=go /usr/local/go /usr/local/go
WORKDIR /src
COPY go.mod go.sum ./
# The patched graft the go.mod replace directive points at (third_party/graft/README.md).
COPY third_party/graft/src third_party/graft/src
RUN go mod download
COPY . .
# The binary's rpath points at the runtime prefix; the libraries are gathered there below.
RUN make setup APT_PACKAGES= RPATH=/opt/nnclr/lib \
      NNCLR_PY_REQUIREMENTS=third_party/tensorflow/requirements-gpu.txt NNCLR_TF_PREFIX="${NNCLR_TF_PREFIX}" \
 && third_party/tensorflow/collect-runtime.sh /opt/nnclr

FROM ${RUNTIME_IMAGE}
COPY --from=build /opt/nnclr /opt/nnclr
ENV PATH=/opt/nnclr/bin:$PATH TFDS_DATA_DIR=/data
RUN echo /opt/nnclr/lib > /etc/ld.so.conf.d/nnclr.conf && ldconfig
WORKDIR /data
# A worker of a multi-worker run (--cluster or TF_CONFIG, as Kubeflow's TFJob sets it) serves
# TensorFlow's gRPC on its address's port; 2222 is the TFJob default (deploy/tfjob.yaml).
EXPOSE 2222
ENTRYPOINT ["/opt/nnclr/bin/nnclr"]
CMD ["--mode", "info"]
