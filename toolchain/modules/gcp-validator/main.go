// Command gcp-validator runs terraform-provider-google's own input validation on the
// inputs a Pulumi program registers for GKE resources. pulumi-gcp is a bridge over
// this provider: its Check translates Pulumi inputs to Terraform's shape and runs the
// resource schema's validation (types, required and conflicting fields, the fields'
// validators), which is what this command does without a cloud account.
//
//	gcp-validator < resources.json
//
// Input: [{"type": "gcp:container/cluster:Cluster", "name": "...", "inputs": {...}}, ...]
// with inputs as the engine records them (camelCase, MaxItems=1 blocks as objects).
// Output: one line per problem; exit status 1 if there is any error, 2 on bad input.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/hashicorp/go-cty/cty"
	"github.com/hashicorp/terraform-plugin-sdk/v2/diag"
	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
	"github.com/hashicorp/terraform-plugin-sdk/v2/terraform"
	"github.com/hashicorp/terraform-provider-google/google/services/binaryauthorization"
	"github.com/hashicorp/terraform-provider-google/google/services/container"
	"github.com/hashicorp/terraform-provider-google/google/services/gkebackup"
	"github.com/hashicorp/terraform-provider-google/google/services/pubsub"
)

// The Terraform resource behind each Pulumi type token this command knows.
var resources = map[string]func() *schema.Resource{
	"gcp:container/cluster:Cluster":         container.ResourceContainerCluster,
	"gcp:container/nodePool:NodePool":       container.ResourceContainerNodePool,
	"gcp:gkebackup/backupPlan:BackupPlan":   gkebackup.ResourceGKEBackupBackupPlan,
	"gcp:gkebackup/restorePlan:RestorePlan": gkebackup.ResourceGKEBackupRestorePlan,
	"gcp:binaryauthorization/policy:Policy": binaryauthorization.ResourceBinaryAuthorizationPolicy,
	"gcp:pubsub/topic:Topic":                pubsub.ResourcePubsubTopic,
}

// Inputs pulumi-gcp adds on top of the Terraform schema (handled by the bridge, never
// sent to Terraform).
var bridgeOnly = map[string]bool{"deletionPolicy": true}

type registered struct {
	Type   string         `json:"type"`
	Name   string         `json:"name"`
	Inputs map[string]any `json:"inputs"`
}

func camel(name string) string {
	parts := strings.Split(name, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

// flattened reports whether the bridge presents a block as one object (MaxItems 1).
func flattened(s *schema.Schema) bool {
	_, isBlock := s.Elem.(*schema.Resource)
	return (s.Type == schema.TypeList || s.Type == schema.TypeSet) && s.MaxItems == 1 && isBlock
}

// matches reports whether a Pulumi key names a Terraform field: camelCase, and for
// lists and sets the bridge's plural ("nodePools", "requireAttestationsBies").
func matches(key, tfName string, s *schema.Schema) bool {
	name := camel(tfName)
	if key == name {
		return true
	}
	if (s.Type != schema.TypeList && s.Type != schema.TypeSet) || flattened(s) {
		return false
	}
	plurals := []string{name + "s", name + "es"}
	if strings.HasSuffix(name, "y") {
		plurals = append(plurals, strings.TrimSuffix(name, "y")+"ies")
	}
	for _, plural := range plurals {
		if key == plural {
			return true
		}
	}
	return false
}

func lookup(schemas map[string]*schema.Schema, key string) (string, *schema.Schema) {
	names := make([]string, 0, len(schemas))
	for name := range schemas {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if matches(key, name, schemas[name]) {
			return name, schemas[name]
		}
	}
	return "", nil
}

// toTerraform turns Pulumi-shaped inputs into Terraform's shape, reporting keys the
// schema does not have.
func toTerraform(schemas map[string]*schema.Schema, inputs map[string]any, path string, problems *[]string) map[string]any {
	out := map[string]any{}
	for key, value := range inputs {
		if path == "" && bridgeOnly[key] {
			continue
		}
		name, s := lookup(schemas, key)
		if s == nil {
			*problems = append(*problems, fmt.Sprintf("%s%s: no such argument in the provider schema", path, key))
			continue
		}
		if value == nil {
			continue
		}
		out[name] = convert(s, value, path+key, problems)
	}
	return out
}

func convert(s *schema.Schema, value any, path string, problems *[]string) any {
	switch elem := s.Elem.(type) {
	case *schema.Resource:
		if flattened(s) {
			object, ok := value.(map[string]any)
			if !ok {
				*problems = append(*problems, fmt.Sprintf("%s: expected an object, got %T", path, value))
				return value
			}
			return []any{toTerraform(elem.SchemaMap(), object, path+".", problems)}
		}
		items, ok := value.([]any)
		if !ok {
			*problems = append(*problems, fmt.Sprintf("%s: expected a list, got %T", path, value))
			return value
		}
		out := make([]any, len(items))
		for i, item := range items {
			object, ok := item.(map[string]any)
			if !ok {
				*problems = append(*problems, fmt.Sprintf("%s[%d]: expected an object, got %T", path, i, item))
				continue
			}
			out[i] = toTerraform(elem.SchemaMap(), object, fmt.Sprintf("%s[%d].", path, i), problems)
		}
		return out
	case *schema.Schema:
		if items, ok := value.([]any); ok {
			out := make([]any, len(items))
			for i, item := range items {
				out[i] = convert(elem, item, fmt.Sprintf("%s[%d]", path, i), problems)
			}
			return out
		}
		return value
	}
	// JSON numbers arrive as float64; Terraform's TypeInt wants whole numbers.
	if number, ok := value.(float64); ok && s.Type == schema.TypeInt {
		if number != float64(int(number)) {
			*problems = append(*problems, fmt.Sprintf("%s: %v is not a whole number", path, number))
		}
		return int(number)
	}
	return value
}

// attributePath renders a diagnostic's path as Terraform names it (a.0.b).
func attributePath(path cty.Path) string {
	parts := make([]string, 0, len(path))
	for _, step := range path {
		switch step := step.(type) {
		case cty.GetAttrStep:
			parts = append(parts, step.Name)
		case cty.IndexStep:
			if step.Key.Type() == cty.Number {
				parts = append(parts, step.Key.AsBigFloat().String())
			} else if step.Key.Type() == cty.String {
				parts = append(parts, step.Key.AsString())
			}
		}
	}
	return strings.Join(parts, ".")
}

func main() {
	var batch []registered
	if err := json.NewDecoder(os.Stdin).Decode(&batch); err != nil {
		fmt.Fprintln(os.Stderr, "gcp-validator: reading the resources:", err)
		os.Exit(2)
	}
	failed := false
	for _, resource := range batch {
		build, ok := resources[resource.Type]
		if !ok {
			fmt.Fprintf(os.Stderr, "gcp-validator: %s: no Terraform resource is known for %s\n", resource.Name, resource.Type)
			os.Exit(2)
		}
		tfResource := build()
		var problems []string
		config := toTerraform(tfResource.SchemaMap(), resource.Inputs, "", &problems)
		for _, d := range tfResource.Validate(terraform.NewResourceConfigRaw(config)) {
			if d.Severity == diag.Error {
				problems = append(problems, strings.TrimSpace(fmt.Sprintf("%s: %s %s", attributePath(d.AttributePath), d.Summary, d.Detail)))
			} else {
				fmt.Printf("%s %s: warning: %s %s\n", resource.Type, resource.Name, d.Summary, d.Detail)
			}
		}
		for _, problem := range problems {
			failed = true
			fmt.Printf("%s %s: error: %s\n", resource.Type, resource.Name, problem)
		}
	}
	if failed {
		os.Exit(1)
	}
}
