package model

import _ "embed"

//go:embed schema.json
var schemaJSON []byte

// Schema returns the JSON Schema (draft 2020-12) of the canonical model, as
// served at GET /v1/schema.
func Schema() []byte { return schemaJSON }
