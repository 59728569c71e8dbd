package model

import (
	_ "embed"
	"encoding/json"
)

//go:embed schema.json
var schemaJSON []byte

// Schema returns the JSON Schema (draft 2020-12) of the canonical model, as
// served at GET /v1/schema.
func Schema() []byte { return schemaJSON }

// CanonicalPaths lists the order paths a mapping may write, as the schema
// declares them (e.g. "status", "refs.servicer", "fields"), for lint checks.
func CanonicalPaths() []string {
	var doc struct {
		Defs map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"$defs"`
	}
	_ = json.Unmarshal(schemaJSON, &doc)
	var out []string
	for name := range doc.Defs["Order"].Properties {
		out = append(out, name)
	}
	for name := range doc.Defs["Refs"].Properties {
		out = append(out, "refs."+name)
	}
	return out
}
