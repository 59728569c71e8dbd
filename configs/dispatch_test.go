package configs

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

type vendorsFile struct {
	Vendors  map[string]VendorConfig `yaml:"vendors"`
	Dispatch DispatchConfig          `yaml:"dispatch"`
}

func decodeVendorsFile(t *testing.T, b []byte) vendorsFile {
	t.Helper()
	var f vendorsFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return f
}

func TestVendorsExampleIsValid(t *testing.T) {
	b, err := os.ReadFile("vendors.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(os.Expand(string(b), func(k string) string { return "http://127.0.0.1:9/" + k }))
	f := decodeVendorsFile(t, b)
	f.Dispatch.SetDefaults()
	if err := f.Dispatch.Validate("dispatch"); err != nil {
		t.Fatalf("dispatch.Validate = %v, want nil", err)
	}
	v, ok := f.Vendors["acme-movers"]
	if !ok {
		t.Fatalf("vendors.acme-movers missing")
	}
	v.SetDefaults()
	if err := v.Validate("vendors.acme-movers"); err != nil {
		t.Fatalf("Validate = %v, want nil", err)
	}
	if !v.Permissions.Allows("household_goods_move") || v.Permissions.Allows("pest_control") {
		t.Errorf("permissions = %v, want household_goods_move only", v.Permissions.ServiceTypes)
	}
	var events []string
	for _, d := range v.Definitions {
		if d.Active && d.Company == "globex" && d.ServiceType == "household_goods_move" {
			events = append(events, d.EventType())
		}
	}
	if strings.Join(events, ",") != "order.submitted,order.updated" {
		t.Errorf("active definitions = %v, want order.submitted and order.updated", events)
	}
	if f.Dispatch.OfflineRetryEvery != time.Hour {
		t.Errorf("offline_retry_every = %v, want 1h", f.Dispatch.OfflineRetryEvery)
	}
}

func TestDefaults(t *testing.T) {
	var d DispatchConfig
	d.SetDefaults()
	if d.Workers != 16 || d.ClaimBatch != 16 || d.LeaseFor != 30*time.Second || d.OfflineRetryEvery != time.Hour ||
		d.Retry.MaxAttempts != 12 || d.Retry.MaxAge != 72*time.Hour || d.Retry.Jitter != 0.2 {
		t.Errorf("SetDefaults() = %+v", d)
	}
	v := VendorConfig{}
	v.SetDefaults()
	if v.Mapping != "equus" || v.Transport != "http" || v.Timeout != 10*time.Second || v.Pull.Render != "pull" || v.Pull.PageLimit != 100 {
		t.Errorf("SetDefaults() = %+v", v)
	}
}

func TestVendorValidateNamesKeyAndValue(t *testing.T) {
	base := func() VendorConfig {
		return VendorConfig{Endpoint: "https://acme.example/orders", Permissions: PermissionSet{ServiceTypes: []string{"household_goods_move"}},
			Definitions: []EventDefinition{{Company: "globex", ServiceType: "household_goods_move", Event: "order.submitted", Active: true}}}
	}
	tests := []struct {
		name   string
		edit   func(v *VendorConfig)
		substr string
	}{
		{"endpoint", func(v *VendorConfig) { v.Endpoint = "ftp://x" }, `vendors.acme.endpoint: must be an http(s) URL, got "ftp://x"`},
		{"transport", func(v *VendorConfig) { v.Transport = "carrier-pigeon" }, `vendors.acme.transport: must be http, soap, smtp or pull, got "carrier-pigeon"`},
		{"auth kind", func(v *VendorConfig) { v.Auth.Kind = "magic" }, `vendors.acme.auth.kind: must be none, bearer, header or basic, got "magic"`},
		{"attachment limit", func(v *VendorConfig) { v.MaxAttachmentBytes = -1 }, `vendors.acme.max_attachment_bytes: must not be negative, got "-1"`},
		{"token env missing", func(v *VendorConfig) { v.Auth.Kind = "bearer" }, `vendors.acme.auth.token_env: is required`},
		{"secret value instead of name", func(v *VendorConfig) { v.Signing.SecretEnv = "whsec_abcdefghijkl" }, `vendors.acme.signing.secret_env: must name an environment variable ([A-Z_][A-Z0-9_]*), not hold a value, got "wh…(redacted)"`},
		{"event", func(v *VendorConfig) { v.Definitions[0].Event = "order.shipped" }, `vendors.acme.definitions[0].event: must be one of`},
		{"watch required", func(v *VendorConfig) { v.Definitions[0].Event = "update_values" }, `vendors.acme.definitions[0].watch: must list the order paths`},
		{"bad watch path", func(v *VendorConfig) {
			v.Definitions[0].Event = "update_values"
			v.Definitions[0].Watch = []string{"colour"}
		}, `vendors.acme.definitions[0].watch[0]: must be an order path such as fields.move_date or status, got "colour"`},
		{"definition outside permission set", func(v *VendorConfig) { v.Definitions[0].ServiceType = "pest_control" }, `vendors.acme.definitions[0].service_type: is not in the vendor's permissions.service_types [household_goods_move], got "pest_control"`},
		{"duplicate definition", func(v *VendorConfig) { v.Definitions = append(v.Definitions, v.Definitions[0]) }, `vendors.acme.definitions[1]: duplicates vendors.acme.definitions[0]`},
		{"empty permission set", func(v *VendorConfig) { v.Permissions.ServiceTypes = nil }, `vendors.acme.permissions.service_types: must list at least one service order type`},
		{"pull key", func(v *VendorConfig) { v.Pull.Enabled = true }, `vendors.acme.pull.api_key_env: is required`},
		{"smtp needs email", func(v *VendorConfig) { v.Transport = "smtp" }, `vendors.acme.email: is required when transport is smtp`},
		{"email address", func(v *VendorConfig) {
			v.Email = &EmailConfig{To: "nobody", From: "gw@example.com", SMTPAddr: "smtp:25"}
		}, `vendors.acme.email.to: must be an email address, got "nobody"`},
		{"retry jitter", func(v *VendorConfig) { v.Retry = &RetryPolicy{Jitter: 3} }, `vendors.acme.retry.jitter: must be between 0 and 1, got "3"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := base()
			tt.edit(&v)
			v.SetDefaults()
			err := v.Validate("vendors.acme")
			if err == nil || !strings.Contains(err.Error(), tt.substr) {
				t.Fatalf("Validate() = %v, want it to contain %q", err, tt.substr)
			}
			if !errors.Is(err, ErrDispatchConfig) {
				t.Errorf("errors.Is(err, ErrDispatchConfig) = false")
			}
		})
	}
	v := base()
	v.SetDefaults()
	if err := v.Validate("vendors.acme"); err != nil {
		t.Fatalf("Validate(valid) = %v, want nil", err)
	}
}

func TestUnknownKeyFails(t *testing.T) {
	var f vendorsFile
	dec := yaml.NewDecoder(strings.NewReader("vendors:\n  acme:\n    endpiont: http://x\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err == nil || !strings.Contains(err.Error(), "endpiont") {
		t.Fatalf("Decode() = %v, want an error naming endpiont", err)
	}
}

func TestSecretRedacted(t *testing.T) {
	s := Secret("hunter2")
	if s.String() != "[redacted]" || s.LogValue().String() != "[redacted]" || s.Reveal() != "hunter2" {
		t.Errorf("Secret = %s / %s / %s", s.String(), s.LogValue(), s.Reveal())
	}
}

func TestRenderKindDefaults(t *testing.T) {
	for ev, want := range map[string]string{"order.submitted": "order", "update_values": "update_values",
		"order.updated": "update_values", "order.resolution_rejected": "resolution_rejected", "order.message": "message"} {
		if got := (EventDefinition{Event: ev}).RenderKind(); got != want {
			t.Errorf("RenderKind(%s) = %s, want %s", ev, got, want)
		}
	}
}

func TestValidateVendorsTimeoutUnderLease(t *testing.T) {
	d := DispatchConfig{LeaseFor: 30 * time.Second}
	err := d.ValidateVendors(map[string]VendorConfig{"slow": {Timeout: time.Minute}, "ok": {Timeout: 10 * time.Second}})
	if err == nil || !strings.Contains(err.Error(), `vendors.slow.timeout: must be shorter than dispatch.lease_for (30s), got "1m0s"`) ||
		strings.Contains(err.Error(), "vendors.ok") {
		t.Fatalf("ValidateVendors() = %v, want vendors.slow.timeout named", err)
	}
}
