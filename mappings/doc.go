// Package mappings is the declarative partner mapping language of the gateway.
//
// Every partner is one YAML file (mappings/<partner>/<partner>.yaml) that
// declares how the partner's messages become canonical events on canonical
// orders (inbound) and how canonical orders are rendered in the partner's
// format (outbound). Load reads, validates and compiles the files strictly,
// reporting every problem as "file:line:col: message"; Translate and Render
// run the compiled rules; Registry keeps the live set and reloads it safely;
// CLIValidate, CLITest and CLITranslate are the authoring tools; they read
// SOAP envelopes and raw mail with the production readers they are given
// (Readers: soap.ReadInput and mail.ReadInput, see internal/readers), since
// this package may not import the protocol packages. The language is
// documented for authors in docs/mappings.md.
package mappings
