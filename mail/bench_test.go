package mail

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// benchIntake appends b.N mails, then measures how fast one Intake applies
// and moves them all (reported as mails/s).
func benchIntake(b *testing.B, srv *imapServer) {
	adm := newAdmin(b, srv)
	adm.create(testInbox)
	sink := newFakeSink("T-1", "T-2", "T-3")
	for i := range b.N {
		adm.append(testInbox, mkMail(fmt.Sprintf("bench-%d@provider", i), fmt.Sprintf("Re: [Task#T-%d] update", i%3+1),
			fmt.Sprintf("Update number %d.\n[[Action]]: Update\n\nOn Mon, X wrote:\n> old text\n> more old text", i)))
	}
	in := NewIntake(testConfig(srv), nil, receiver(ssp7Translator{}, sink), nil, &Options{Logger: quietLogger()})
	b.ResetTimer()
	start := time.Now()
	r := startIntake(b, in)
	for r.in.Status().Processed < int64(b.N) {
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if n := len(sink.eventList()); n != b.N {
		b.Fatalf("events = %d, want %d", n, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "mails/s")
}

// BenchmarkIntakeDovecot is the figure in docs/benchmarks.md: mails per second
// from a real Dovecot (IDLE, MOVE) through parse, translate, a fake Sink and
// the move to Processed.
func BenchmarkIntakeDovecot(b *testing.B) { benchIntake(b, dovecotServer(b, "")) }

// BenchmarkIntakeDovecotNoMove is the same without MOVE (COPY + STORE + EXPUNGE).
func BenchmarkIntakeDovecotNoMove(b *testing.B) {
	benchIntake(b, dovecotServer(b, "IMAP4rev1 UIDPLUS LITERAL+ IDLE"))
}

// BenchmarkIntakeMem runs against go-imap's memory server (unit run).
func BenchmarkIntakeMem(b *testing.B) { benchIntake(b, memServer(b, true)) }

func BenchmarkParse(b *testing.B) {
	for _, name := range []string{"ack", "html-only", "outlook-reply"} {
		raw, err := os.ReadFile("testdata/" + name + ".eml")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(raw, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParseBomb shows a MIME bomb costs bounded work: 5000 parts are
// cut at the 100-part limit.
func BenchmarkParseBomb(b *testing.B) {
	raw := manyParts(5000)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := Parse(raw, nil); err == nil {
			b.Fatal("bomb accepted")
		}
	}
}
