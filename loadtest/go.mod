module github.com/vigilhq/vigil/loadtest

go 1.26

require github.com/vigilhq/vigil/pkg v0.0.0

replace github.com/vigilhq/vigil/pkg => ../pkg
