package configs

import (
	"errors"
	"strings"
	"testing"
)

func noEnv(string) (string, bool) { return "", false }

func TestLoadShippedConfig(t *testing.T) {
	cfg, err := LoadFile("gateway.yaml")
	if err != nil {
		t.Fatalf("LoadFile(gateway.yaml) = %v, want nil", err)
	}
	if cfg.Server.Addr == "" || cfg.Server.MaxBodyBytes != 1<<20 {
		t.Errorf("server = %+v, want addr set and 1 MiB body cap", cfg.Server)
	}
}

func TestLoadErrorsNameKeyAndValue(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []string
	}{
		{"unknown key", "server:\n  adr: \":8080\"\n", []string{"server.adr", "line 2", `unknown key (did you mean "addr"?)`}},
		{"unknown top key", "sever: {}\n", []string{"sever", `did you mean "server"?`}},
		{"bad duration", "server:\n  read_timeout: soon\n", []string{"server.read_timeout", `"soon"`, "duration"}},
		{"bad number", "server:\n  max_body_bytes: lots\n", []string{"server.max_body_bytes", `"lots"`, "whole number"}},
		{"too small", "server:\n  max_body_bytes: 10\n", []string{"server.max_body_bytes", `"10"`, "at least 1024"}},
		{"bad addr", "server:\n  addr: nowhere\n", []string{"server.addr", `"nowhere"`, "host:port"}},
		{"bad redis url", "redis:\n  url: http://u:pw@host\n", []string{"redis.url", "***@host", "redis://"}},
		{"bad level", "log:\n  level: loud\n", []string{"log.level", `"loud"`}},
		{"bad auto_pipeline", "redis:\n  auto_pipeline: sometimes\n", []string{"redis.auto_pipeline", `"sometimes"`}},
		{"bad tls", "partners:\n  ssp7:\n    mailbox:\n      tls: maybe\n", []string{"partners.ssp7.mailbox.tls", `"maybe"`}},
		{"not a mapping", "server: 3\n", []string{"server", "must be a mapping"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load([]byte(tt.doc), noEnv)
			if err == nil {
				t.Fatalf("Load(%q) = nil error, want one naming %v", tt.doc, tt.want)
			}
			if !errors.Is(err, ErrConfig) {
				t.Errorf("Load(%q) error %v does not wrap ErrConfig", tt.doc, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load(%q) = %q, want it to contain %q", tt.doc, err, w)
				}
			}
			if strings.Contains(err.Error(), "pw") {
				t.Errorf("Load(%q) = %q leaks a password", tt.doc, err)
			}
		})
	}
}

func TestRedisAutoPipelineDefaultsOn(t *testing.T) {
	for doc, want := range map[string]bool{"redis:\n": true, "redis:\n  auto_pipeline: false\n": false, "redis:\n  auto_pipeline: true\n": true} {
		cfg, err := Load([]byte(doc), noEnv)
		if err != nil {
			t.Fatalf("Load(%q) = %v", doc, err)
		}
		if *cfg.Redis.AutoPipeline != want {
			t.Errorf("Load(%q): auto_pipeline %v, want %v", doc, *cfg.Redis.AutoPipeline, want)
		}
	}
}

func TestEmptySectionIsTheZeroValue(t *testing.T) {
	cfg, err := Load([]byte("partners:\nvendors:\nserver:\n"), noEnv)
	if err != nil || cfg.Server.Addr != ":8080" || len(cfg.Partners) != 0 {
		t.Fatalf("Load(empty sections) = %+v, %v; want defaults", cfg, err)
	}
}

func TestInterpolation(t *testing.T) {
	env := map[string]string{"GATEWAY_ADDR": "127.0.0.1:9999", "EMPTY": ""}
	look := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	doc := "server:\n  addr: ${GATEWAY_ADDR:-:8080}\nlog:\n  level: ${EMPTY:-warn}\nredis:\n  url: ${UNSET}\n"
	cfg, err := Load([]byte(doc), look)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Addr != "127.0.0.1:9999" || cfg.Log.Level != "warn" || cfg.Redis.URL != "" {
		t.Errorf("interpolated = addr %q level %q url %q, want 127.0.0.1:9999 warn and empty", cfg.Server.Addr, cfg.Log.Level, cfg.Redis.URL.Reveal())
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s := Secret("hunter2")
	b, _ := s.MarshalJSON()
	for _, got := range []string{s.String(), s.LogValue().String(), string(b)} {
		if strings.Contains(got, "hunter2") {
			t.Errorf("secret printed as %q", got)
		}
	}
}
