module github.com/wamuir/graft

go 1.18

require google.golang.org/protobuf v1.34.2
