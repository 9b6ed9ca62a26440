//go:build tools

// Package tools pins the Pulumi CLI's main package so that `go mod tidy` records
// every module it needs in this directory's go.sum; toolchain/engine.sh builds it
// from here with -mod=readonly.
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
