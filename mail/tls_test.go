package mail

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// selfSigned returns a server certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	testMust(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "imap.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	testMust(t, err)
	cert, err := x509.ParseCertificate(der)
	testMust(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// TestTLSModes applies a mail over implicit TLS and over STARTTLS; the
// server refuses LOGIN in clear (LOGINDISABLED) so the password never
// crosses the wire unencrypted.
func TestTLSModes(t *testing.T) {
	cert, pool := selfSigned(t)
	for _, mode := range []TLSMode{TLSImplicit, TLSStartTLS} {
		t.Run(string(mode), func(t *testing.T) {
			mem := imapmemserver.New()
			u := imapmemserver.NewUser("gateway", "pw")
			testMust(t, u.Create(testInbox, nil))
			mem.AddUser(u)
			tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}}
			opts := &imapserver.Options{
				NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
					return mem.NewSession(), nil, nil
				},
				Caps:   imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
				Logger: discardLogger{},
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			testMust(t, err)
			if mode == TLSImplicit {
				ln = tls.NewListener(ln, tlsCfg)
				opts.InsecureAuth = true // the listener itself is TLS
			} else {
				opts.TLSConfig = tlsCfg
			}
			srv := imapserver.New(opts)
			go srv.Serve(ln)
			t.Cleanup(func() { srv.Close() })

			// Seed the inbox directly in the backend.
			_, err = u.Append(testInbox, literal(mkMail("tls-1@provider", "[Task#T-1] over TLS", "secure")), &imap.AppendOptions{})
			testMust(t, err)

			sink := newFakeSink("T-1")
			cfg := MailboxConfig{Name: "ssp7", Addr: ln.Addr().String(), User: "gateway", Password: "pw", TLS: mode,
				TLSConfig: &tls.Config{RootCAs: pool}, Inbox: testInbox, PollInterval: 50 * time.Millisecond,
				BackoffMin: 20 * time.Millisecond, BackoffMax: 100 * time.Millisecond}
			r := startIntake(t, NewIntake(cfg, nil, receiver(ssp7Translator{}, sink), nil, &Options{Logger: quietLogger()}))
			eventually(t, "the mail applied over "+string(mode), func() bool { return r.in.Status().Processed == 1 })
			if evs := sink.eventList(); len(evs) != 1 || evs[0].MessageID != "tls-1@provider" {
				t.Errorf("events = %v, want tls-1", evs)
			}
		})
	}
	// A server whose certificate is not trusted is never logged in to.
	t.Run("untrusted", func(t *testing.T) {
		ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
		testMust(t, err)
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() { c.Write([]byte("* OK hi\r\n")); time.Sleep(time.Second); c.Close() }()
			}
		}()
		cfg := MailboxConfig{Name: "ssp7", Addr: ln.Addr().String(), User: "gateway", Password: "pw",
			BackoffMin: 20 * time.Millisecond, BackoffMax: 50 * time.Millisecond}
		r := startIntake(t, NewIntake(cfg, nil, receiver(ssp7Translator{}, newFakeSink()), nil, &Options{Logger: quietLogger()}))
		eventually(t, "a certificate error", func() bool {
			st := r.in.Status()
			return st.Reconnects >= 1 && !st.Connected && containsAny(st.LastError, "certificate", "x509")
		})
	})
}

// literal makes an imap.LiteralReader (a bytes.Reader has Read and Size).
func literal(b []byte) imap.LiteralReader { return bytes.NewReader(b) }

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// TestShutdownDuringConnect: a server that accepts and never greets does not
// hold the intake when its context ends (the dial timeout is an hour here).
func TestShutdownDuringConnect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	testMust(t, err)
	t.Cleanup(func() { ln.Close() })
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	cfg := MailboxConfig{Name: "ssp7", Addr: ln.Addr().String(), User: "u", Password: "p", TLS: TLSNone, DialTimeout: time.Hour}
	r := startIntake(t, NewIntake(cfg, nil, receiver(ssp7Translator{}, newFakeSink()), nil, &Options{Logger: quietLogger()}))
	c := <-accepted
	defer c.Close()
	r.cancel()
	select {
	case <-r.done:
	case <-time.After(20 * time.Second):
		t.Fatal("Run() still waiting for the greeting after its context ended")
	}
	if !errors.Is(r.err, context.Canceled) {
		t.Errorf("Run() = %v, want context.Canceled", r.err)
	}
}
