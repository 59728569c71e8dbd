package configs

import (
	"strings"
	"testing"
)

func TestGroupsAndPermissionFieldsAreChecked(t *testing.T) {
	doc := `
vendors:
  pulling:
    transport: pull
    permissions:
      service_types: [household_goods_move]
      fields: [fields.move_date, attachments, "bogus path"]
    pull: {enabled: true, api_key_env: PULL_KEY}
groups:
  network-ops: {vendor: pulling, integrated: true}
  orphans: {integrated: true}
  elsewhere: {vendor: nobody}
`
	_, err := Load([]byte(doc), noEnv)
	if err == nil {
		t.Fatal("Load = nil, want errors for the bad field path and the two bad groups")
	}
	for _, want := range []string{"vendors.pulling.permissions.fields[2]", "groups.orphans.vendor", "groups.elsewhere.vendor", `"nobody"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Load error = %v, want it to name %s", err, want)
		}
	}
}

func TestCommunicationsDefaultPerTransport(t *testing.T) {
	tests := []struct {
		v          VendorConfig
		accept     []string
		refuse     []string
		wantPullOn bool
	}{
		{VendorConfig{Transport: TransportPull}, []string{"data", "email", "phone"}, nil, true},
		{VendorConfig{Endpoint: "http://x"}, []string{"", "data"}, []string{"email"}, false},
		{VendorConfig{Endpoint: "http://x", Email: &EmailConfig{To: "a@b.c"}}, []string{"data", "email"}, []string{"phone"}, false},
		{VendorConfig{Endpoint: "http://x", Communications: []string{"data", "phone"}}, []string{"phone"}, []string{"email"}, false},
	}
	for i, tt := range tests {
		tt.v.SetDefaults()
		for _, c := range tt.accept {
			if !tt.v.Accepts(c) {
				t.Errorf("[%d] Accepts(%q) = false, want true (communications %v)", i, c, tt.v.Communications)
			}
		}
		for _, c := range tt.refuse {
			if tt.v.Accepts(c) {
				t.Errorf("[%d] Accepts(%q) = true, want false (communications %v)", i, c, tt.v.Communications)
			}
		}
		if tt.v.PullOnly() != tt.wantPullOn {
			t.Errorf("[%d] PullOnly() = %v, want %v", i, tt.v.PullOnly(), tt.wantPullOn)
		}
	}
}

func TestPermissionSetVisible(t *testing.T) {
	p := PermissionSet{Fields: []string{"fields.move_date", "attachments"}}
	for path, want := range map[string]bool{"fields.move_date": true, "fields.internal_cost": false, "attachments": true,
		"messages": false, "status": true, "refs.requestor": true, "refs.servicer": false} {
		if got := p.Visible(path); got != want {
			t.Errorf("Visible(%q) = %v, want %v", path, got, want)
		}
	}
	if !(PermissionSet{}).Visible("fields.anything") {
		t.Errorf("an empty field list must show everything")
	}
	if !(PermissionSet{Fields: []string{"fields.*"}}).Visible("fields.x") {
		t.Errorf("fields.* must show every typed field")
	}
}

func TestEmailVariableUnsetDropsOnlyTheEmail(t *testing.T) {
	doc := `
vendors:
  desk:
    endpoint: http://127.0.0.1:9/desk
    email: {to: "", from: gw@example.com, smtp_addr: "127.0.0.1:25"}
    permissions: {service_types: [incident]}
`
	cfg, err := Load([]byte(doc), noEnv)
	if err != nil {
		t.Fatalf("Load = %v, want nil", err)
	}
	v := cfg.Vendors["desk"]
	if v.Email != nil || v.Disabled || v.Accepts("email") {
		t.Errorf("vendor = email %v disabled %v accepts email %v; want no email, enabled, email refused", v.Email, v.Disabled, v.Accepts("email"))
	}
}
