package mappings

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeMapping writes one partner mapping p/p.yaml under a temp dir and returns the dir.
func writeMapping(t *testing.T, partner, src string) string {
	t.Helper()
	dir := t.TempDir()
	if err := mkPartner(dir, partner, src); err != nil {
		t.Fatal(err)
	}
	return dir
}

func mkPartner(dir, partner, src string) error {
	if err := os.MkdirAll(filepath.Join(dir, partner), 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, partner, partner+".yaml"), []byte(src), 0o644)
}

const lintHead = `partner: p
auth: {kind: apikey, header: X-Key, secret_env: P_KEY}
routes:
  - name: main
    path: /orders
inbound:
  - kind: k
    event: order.updated
    rules:
`

// TestLintErrors loads one broken mapping per error kind and checks the
// exact file:line:col and message of the error.
func TestLintErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string // "line:col: message"
	}{
		{"unknown top-level key", "partner: p\nprotocol: [rest]\n", `2:1: unknown key "protocol" in spec (did you mean "protocols"?)`},
		{"unknown rule key", lintHead + "      - to: refs.requestor\n        form: id\n", `11:9: unknown key "form" in rule (did you mean "from"?)`},
		{"unknown transform", lintHead + "      - to: fields.note\n        from: note\n        do: [trim, {trunc: 10}]\n", `12:21: unknown transform "trunc" (did you mean "truncate"?)`},
		{"invalid gjson path", lintHead + "      - to: fields.note\n        from: a..b\n", `11:15: invalid path "a..b": empty path component`},
		{"unknown modifier", lintHead + "      - to: fields.note\n        from: items|@revers\n", `11:15: invalid path "items|@revers": unknown modifier @revers`},
		{"unknown root", lintHead + "      - to: fields.note\n        from: $header.X-Id\n", `11:15: unknown root "$header" (did you mean "$headers"?)`},
		{"unknown canonical field", lintHead + "      - to: refs.requester\n        from: id\n", `10:13: unknown canonical field "refs.requester" (did you mean "refs.requestor"?)`},
		{"bad canonical field name", lintHead + "      - to: fields.DueDate\n        from: id\n", `10:13: canonical field name "DueDate" must be lower_snake_case`},
		{"unknown event type", strings.Replace(lintHead, "order.updated", "order.updatd", 1) + "      - {to: refs.requestor, from: id}\n", `8:12: unknown event type "order.updatd" (did you mean "order.updated"?)`},
		{"type mismatch transform", lintHead + "      - to: fields.n\n        from: n\n        type: number\n        do: [{truncate: 3}]\n", `13:15: type mismatch: truncate needs a string, got a number`},
		{"type mismatch target", lintHead + "      - to: accepted\n        value: \"yes\"\n", `10:13: type mismatch: accepted needs a boolean, the rule gives a string`},
		{"type mismatch value vs type", lintHead + "      - to: fields.n\n        value: 3\n        type: boolean\n", `12:15: type mismatch: value is a number, type says boolean`},
		{"unknown type", lintHead + "      - to: fields.n\n        from: n\n        type: integer\n", `12:15: unknown type "integer" (known: string, number, boolean, array, object, timestamp)`},
		{"unknown map", lintHead + "      - to: status\n        from: s\n        do: [{map: stat}]\n", `12:15: unknown map "stat"`},
		{"unknown status table", lintHead + "      - to: status\n        from: s\n        status: creat\n", `12:17: unknown status table "creat"`},
		{"invalid pattern", lintHead + "      - to: fields.zip\n        from: zip\n        pattern: '^(\\d{5}$'\n", `12:18: invalid pattern: error parsing regexp: missing closing ): ` + "`^(\\d{5}$`"},
		{"unknown route", strings.Replace(lintHead, "    event: order.updated\n", "    event: order.updated\n    match: {route: mian}\n", 1) + "      - {to: refs.requestor, from: id}\n", `9:20: unknown route "mian" (did you mean "main"?)`},
		{"yaml syntax", "partner: p\ninbound:\n  - kind: [k\n", `3:1: YAML syntax error: a [list] is not closed: expected ',' or ']'`},
		{"wrong node kind", "partner: p\ninbound: k\n", `2:10: expected a list, got "k"`},
		{"partner name", "partner: q\n", `1:10: partner "q" must equal the folder and file name "p"`},
		{"render canonical path", "partner: p\nrenders:\n  r:\n    format: json\n    rules:\n      - to: id\n        from: order.refs.requester\n", `7:15: unknown canonical field "requester" in order.refs (did you mean "requestor"?)`},
		{"secret value in auth", "partner: p\nauth:\n  kind: apikey\n  secret_env: s3cr3t-value\n", `4:15: auth.secret_env must name an environment variable (A-Z, 0-9, _), never hold a value`},
		{"unknown auth kind", "partner: p\nauth:\n  kind: api-key\n", `3:9: auth: unknown kind "api-key" (did you mean "apikey"?)`},
		{"status table status", "partner: p\nstatuses:\n  s:\n    rows:\n      - {partner: done, status: finished}\n", `5:33: status table s: "finished" is not a canonical status`},
		{"unknown render format", "partner: p\nrenders:\n  r:\n    format: jsn\n", `4:13: render r: unknown format "jsn" (known: json, xml, text) (did you mean "json"?)`},
		{"bad condition", lintHead[:len(lintHead)-len("    rules:\n")] + "    match: {path: a, equals: x, exists: true}\n", `9:12: a condition tests its path with one of equals, in, exists, matches (use all: for several)`},
		{"unknown canonical status", lintHead + "      - to: status\n        value: in-progress\n", `11:16: "in-progress" is not a canonical status (did you mean "in_progress"?)`},
		{"status through a plain map", "partner: p\nmaps:\n  m: {values: {A: new}}\ninbound:\n  - kind: k\n    event: order.updated\n    rules:\n      - {to: status, from: s, do: [{map: m}]}\n", `8:37: map m feeds status but is not declared with status: true (its values are not checked against the canonical statuses)`},
		{"route with unknown kind", strings.Replace(lintHead, "    path: /orders\n", "    path: /orders\n    kinds: [k, kk]\n", 1) + "      - {to: refs.requestor, from: id}\n", `6:12: route /orders: unknown kind "kk" (did you mean "k"?)`},
		{"duplicate kind", lintHead + "      - {to: refs.requestor, from: id}\n  - kind: k\n    event: order.created\n", `11:11: duplicate kind "k"`},
		{"unknown owner", "partner: p\nowners:\n  client_status: partner\n  due_date: remote\n", `4:13: owners.due_date: unknown owner "remote" (known: partner, platform, shared)`},
		{"undeclared setting", lintHead + "      - {to: fields.mode, from: $settings.mode}\n", `10:33: $settings.mode is not declared under settings`},
		{"undeclared setting in a condition", strings.Replace(lintHead, "    event: order.updated\n", "    event: order.updated\n    match: {path: $settings.integraton, equals: internal}\n", 1) + "      - {to: refs.requestor, from: id}\n", `9:19: $settings.integraton is not declared under settings`},
		{"unknown time layout name", lintHead + "      - {to: fields.at, from: at, do: [{time: rfc3339z}]}\n", `10:41: time: unknown time layout "rfc3339z" (named: rfc3339, rfc3339nano, rfc1123z, date, datetime; or a Go layout such as 2006-01-02 15:04) (did you mean "rfc3339"?)`},
		{"empty map", "partner: p\nmaps:\n  m: {values: {}}\n", `3:3: map m has no values (declare values: {partner value: canonical value, …})`},
		{"yaml tab", "partner: p\ninbound:\n\t- kind: k\n", `3:1: YAML syntax error: a character that cannot start a value here (YAML indents with spaces, never tabs; quote values starting with @ or ` + "`" + `)`},
		{"unknown task field", lintHead + "      - to: tasks\n        from: services\n        each:\n          - {to: title, from: n}\n", `13:18: unknown task field "title" (known: id, name, status, instructions, fields.<name>)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeMapping(t, "p", tc.src)
			_, err := Load(dir)
			var le LoadErrors
			if !errors.As(err, &le) {
				t.Fatalf("Load = %v, want LoadErrors", err)
			}
			want := filepath.Join(dir, "p", "p.yaml") + ":" + tc.want
			for _, e := range le {
				if e.Error() == want {
					return
				}
			}
			t.Errorf("Load errors = \n%v\nwant one equal to\n%s", le, want)
		})
	}
}

// TestLintListsEveryError checks that all errors are reported, sorted by position.
func TestLintListsEveryError(t *testing.T) {
	src := lintHead + "      - to: refs.requester\n        from: a..b\n        do: [trimm]\n"
	dir := writeMapping(t, "p", src)
	_, err := Load(dir)
	var le LoadErrors
	if !errors.As(err, &le) {
		t.Fatalf("Load = %v, want LoadErrors", err)
	}
	var got []string
	for _, e := range le {
		got = append(got, strings.TrimPrefix(e.Error(), filepath.Join(dir, "p", "p.yaml")+":"))
	}
	want := []string{
		`10:13: unknown canonical field "refs.requester" (did you mean "refs.requestor"?)`,
		`11:15: invalid path "a..b": empty path component`,
		`12:14: unknown transform "trimm" (did you mean "trim"?)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Load errors =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestShippedMappingsValidate(t *testing.T) {
	var out, errb strings.Builder
	if code := CLIValidate(".", &out, &errb); code != 0 {
		t.Fatalf("CLIValidate(.) = %d, stderr:\n%s", code, errb.String())
	}
	for _, p := range []string{"pruvan", "extend"} {
		if !strings.Contains(out.String(), "ok "+p+" sha256:") {
			t.Errorf("CLIValidate output lacks %s:\n%s", p, out.String())
		}
	}
}

// TestLintAuth: every auth declaration the gateway would refuse (and so
// disable the partner) is a load error with its position.
func TestLintAuth(t *testing.T) {
	head := "partner: p\nroutes:\n  - {name: main, path: /orders}\n"
	tests := []struct {
		name, src, want string
	}{
		{"routes without auth", head, `3:3: REST routes need an auth: declare auth.kind and the name of the variable holding the credential (e.g. auth: {kind: apikey, header: X-Api-Key, secret_env: P_API_KEY})`},
		{"auth without kind", head + "auth: {header: X-Key, secret_env: K}\n", `4:7: auth.kind is required (known: apikey, rsa-pkcs1v15-sha256, rsa-pss-sha256, ed25519, hmac-sha256, standard-webhooks, basic, wsse)`},
		{"apikey without secret_env", head + "auth: {kind: apikey, header: X-Key}\n", `4:14: auth kind apikey needs auth.secret_env, the name of the variable holding the API key`},
		{"apikey without header or query", head + "auth: {kind: apikey, secret_env: K}\n", `4:14: auth kind apikey needs auth.header or auth.query (where the key is sent)`},
		{"hmac without secret_env", head + "auth: {kind: hmac-sha256, header: X-Sig}\n", `4:14: auth kind hmac-sha256 needs auth.secret_env, the name of the variable holding the shared secret`},
		{"rsa without key file", head + "auth: {kind: rsa-pss-sha256, header: X-Sig}\n", `4:14: auth kind rsa-pss-sha256 needs auth.public_key_file_env, the name of the variable holding the path of the partner's public key (PEM)`},
		{"signature nowhere", head + "auth: {kind: hmac-sha256, secret_env: K}\n", `4:14: auth kind hmac-sha256 needs auth.header or auth.signature_field (where the signature is sent)`},
		{"unknown encoding", head + "auth: {kind: hmac-sha256, header: X-Sig, secret_env: K, encoding: hexa}\n", `4:67: auth.encoding: unknown encoding "hexa" (known: base64, hex) (did you mean "hex"?)`},
		{"prefix on an api key", head + "auth: {kind: apikey, header: X-Key, secret_env: K, prefix: 'k='}\n", `4:60: auth.prefix applies to a signature sent in a header only`},
		{"bad tolerance", head + "auth: {kind: hmac-sha256, header: X-Sig, secret_env: K, timestamp_header: X-Ts, tolerance: 5 minutes}\n", `4:92: auth.tolerance "5 minutes" is not a positive duration (e.g. 30s, 5m)`},
		{"tolerance without timestamp", head + "auth: {kind: hmac-sha256, header: X-Sig, secret_env: K, tolerance: 5m}\n", `4:68: auth.tolerance applies to auth.timestamp_header or kind standard-webhooks only`},
		{"signed without body", head + "auth: {kind: hmac-sha256, header: X-Sig, secret_env: K, signed: '{timestamp}'}\n", `4:65: auth.signed "{timestamp}": must hold {body} exactly once`},
		{"signed timestamp without header", head + "auth: {kind: hmac-sha256, header: X-Sig, secret_env: K, signed: '{timestamp}.{body}'}\n", `4:65: auth.signed "{timestamp}.{body}": uses {timestamp} but auth.timestamp_header is not declared`},
		{"basic without password", "partner: p\nauth: {kind: basic, user_env: U}\n", `2:14: auth kind basic needs auth.password_env, the name of the variable holding the password`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeMapping(t, "p", tc.src)
			_, err := Load(dir)
			var le LoadErrors
			if !errors.As(err, &le) {
				t.Fatalf("Load = %v, want LoadErrors", err)
			}
			want := filepath.Join(dir, "p", "p.yaml") + ":" + tc.want
			for _, e := range le {
				if e.Error() == want {
					return
				}
			}
			t.Errorf("Load errors = \n%v\nwant one equal to\n%s", le, want)
		})
	}
	ok := head + "auth: {kind: hmac-sha256, header: X-Sig, secret_env: K, encoding: hex, prefix: 'sha256=', timestamp_header: X-Ts, tolerance: 2m, signed: 'v0:{timestamp}:{body}'}\n"
	if _, err := Load(writeMapping(t, "p", ok)); err != nil {
		t.Errorf("Load(a complete timestamped HMAC declaration) = %v", err)
	}
}
