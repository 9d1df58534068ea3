module github.com/nnclr/nnclr

go 1.26.8

require github.com/wamuir/graft v0.10.0

require (
	github.com/schollz/progressbar/v3 v3.18.0
	github.com/spf13/pflag v1.0.6
	golang.org/x/image v0.24.0
	golang.org/x/sys v0.29.0
	golang.org/x/term v0.28.0
	google.golang.org/protobuf v1.34.2
)

require (
	github.com/mitchellh/colorstring v0.0.0-20190213212951-d06e56a500db // indirect
	github.com/rivo/uniseg v0.4.7 // indirect
)

// graft v0.10.0 with explicit tensor Close and runs with RunOptions (third_party/graft/README.md).
replace github.com/wamuir/graft => ./third_party/graft/src
