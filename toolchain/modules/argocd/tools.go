//go:build tools

// Package tools pins Argo CD's multi-call main package (argocd, argocd-application-controller,
// argocd-repo-server, ... chosen by the executable's name) so that `go mod tidy` records every
// module it needs in this directory's go.sum; toolchain/argocd.sh builds it with -mod=readonly.
package tools

import _ "github.com/argoproj/argo-cd/v3/cmd"
