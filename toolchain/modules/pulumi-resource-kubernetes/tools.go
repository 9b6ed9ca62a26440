//go:build tools

// Package tools pins what toolchain/engine.sh builds from this module, so that
// `go mod tidy` records every module it needs in go.sum: the provider's main package,
// and the schema package its build-ignored generate.go (run by engine.sh) imports.
package tools

import (
	_ "github.com/pulumi/pulumi-kubernetes/provider/v4/cmd/pulumi-resource-kubernetes"
	_ "github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)
