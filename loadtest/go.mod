module github.com/vigilhq/vigil/loadtest

go 1.26.0

require github.com/vigilhq/vigil/pkg v0.0.0

require (
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3 // indirect
	github.com/segmentio/asm v1.2.1 // indirect
	github.com/segmentio/encoding v0.5.4 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.43.0 // indirect
)

replace github.com/vigilhq/vigil/pkg => ../pkg
