module github.com/nnclr/nnclr

go 1.26.8

require github.com/wamuir/graft v0.10.0

require google.golang.org/protobuf v1.34.2

require github.com/spf13/pflag v1.0.6 // indirect
