package bench

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/internal/testutil"
)

var (
	emgTickets  = flag.Int("emg.tickets", 500, "tickets the EMG benchmark's Updates are spread over")
	emgSenders  = flag.Int("emg.senders", 32, "concurrent senders of the EMG benchmark")
	emgRequests = flag.Int("emg.requests", 1000, "Updates per side in each repetition of the EMG benchmark")
	emgReps     = flag.Int("emg.reps", 5, "repetitions of the EMG benchmark (the sides alternate which goes first)")
	emgProfile  = flag.String("emg.cpuprofile", "", "write a CPU profile of the gateway, taken over the first -emg.profile-seconds of its first run, to this file (make the run that long: -emg.requests 3000)")
	emgProfSecs = flag.Int("emg.profile-seconds", 4, "seconds the -emg.cpuprofile profile covers")
	emgCmdStats = flag.Bool("emg.commandstats", false, "log redis-server's INFO commandstats per gateway request (calls and µs of each command) for each repetition")
)

// TestMain runs the bare EMG server when the benchmark starts this test
// binary as its second process (SOG_BENCH_BARE_ADDR set).
func TestMain(m *testing.M) {
	if addr := os.Getenv("SOG_BENCH_BARE_ADDR"); addr != "" {
		os.Exit(serveBare(addr))
	}
	os.Exit(m.Run())
}

// serveBare serves BareEMG on addr until its standard input closes.
func serveBare(addr string) int {
	verify, err := readPublic(os.Getenv("SOG_BENCH_BARE_VERIFY"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	sign, err := readPrivate(os.Getenv("SOG_BENCH_BARE_SIGN"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	rdb := redis.NewClient(&redis.Options{Addr: os.Getenv("SOG_BENCH_BARE_REDIS")})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv := &http.Server{Handler: &BareEMG{Redis: rdb, Prefix: "bare:", Verify: verify, Sign: sign}, ReadHeaderTimeout: 10 * time.Second}
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); _ = srv.Close() }()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// BenchmarkEMGUpdateVsBare measures EMG BreakFix Updates end to end through
// the real gatewayd binary (REST route, RSA verify, envelope checks, emg
// mapping, commit to Redis, signed Ack) against BareEMG served by a second
// process, both on one redis-server it starts (AOF on, appendfsync
// everysec). Each repetition sends -emg.requests Updates, each with its own
// Task Id, spread over -emg.tickets tickets, from -emg.senders concurrent
// senders to each side in turn (the side that goes first alternates), and
// reports the median of the per-repetition ratios gateway/bare. Because the
// machine the figures come from is shared, it also reports the CPU each side
// spent per request (its server process plus redis-server, from /proc): the
// "cpu-ratio" is bare CPU / gateway CPU, which contention skews less than
// throughput.
//
//	GATEWAY_INTEGRATION=1 go test -run '^$' -bench EMGUpdateVsBare -benchtime 1x ./bench/
func BenchmarkEMGUpdateVsBare(b *testing.B) {
	testutil.RequireIntegration(b, "redis-server")
	srv := testutil.StartRedisFsync(b, "everysec")
	dir := b.TempDir()
	ours, err := rsa.GenerateKey(rand.Reader, 2048)
	testutil.Must(b, err)
	theirs, err := rsa.GenerateKey(rand.Reader, 2048)
	testutil.Must(b, err)
	oursFile := writePEM(b, filepath.Join(dir, "ours.pem"), "PRIVATE KEY", must(x509.MarshalPKCS8PrivateKey(ours)))
	theirsFile := writePEM(b, filepath.Join(dir, "emg.pub"), "PUBLIC KEY", must(x509.MarshalPKIXPublicKey(&theirs.PublicKey)))

	root := testutil.ModuleRoot(b)
	debugAddr := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(b))
	gw := testutil.StartGatewayd(b, root, fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(b)), nil,
		append(os.Environ(), "REDIS_URL="+srv.URL(), "GATEWAY_ATTACHMENTS_DIR="+b.TempDir(), "GATEWAY_ADMIN_TOKEN="+testutil.AdminToken,
			"EMG_SIGNING_KEY_FILE="+oursFile, "EMG_PUBLIC_KEY_FILE="+theirsFile, "GATEWAY_DEBUG_ADDR="+debugAddr))
	bareURL, barePid := startBare(b, srv.Addr(), theirsFile, oursFile)

	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}, Timeout: time.Minute}
	ctx := context.Background()
	for i := 0; i < *emgTickets; i++ {
		body := fmt.Sprintf(`{"partner":"emg","company":"globex","service_type":"breakfix","refs":{"requestor":%q},"fields":{"description":"bench ticket"}}`, EMGTicket(i))
		req, _ := http.NewRequest(http.MethodPost, gw.URL+"/v1/orders", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(testutil.Authorize(req))
		testutil.Must(b, err)
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			b.Fatalf("create ticket %d = %d %s", i, resp.StatusCode, msg)
		}
	}
	gwURL := gw.URL + "/partners/emg/messages"
	// Warm both sides (connections, caches) before anything is timed.
	warm, err := EMGUpdates(theirs, *emgSenders*2, *emgTickets)
	testutil.Must(b, err)
	for _, u := range []string{gwURL, bareURL} {
		if _, err := Load(ctx, client, u, warm, *emgSenders, http.StatusAccepted); err != nil {
			b.Fatal(err)
		}
	}
	gwPid, redisPid, rdb := gw.Cmd.Process.Pid, srv.Pid(), srv.Client()
	profiled := func() {}
	defer func() { profiled() }()
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		var ratios, cpuRatios, gwRates, bareRates []float64
		for rep := 0; rep < *emgReps; rep++ {
			b.StopTimer()
			bodies, err := EMGUpdates(theirs, *emgRequests, *emgTickets)
			testutil.Must(b, err)
			b.StartTimer()
			run := func(url string, pid int) side {
				if *emgProfile != "" && n == 0 && rep == 0 && pid == gwPid {
					profiled = profileCPU(b, "http://"+debugAddr, *emgProfSecs, *emgProfile)
				}
				if *emgCmdStats && pid == gwPid {
					testutil.Must(b, rdb.ConfigResetStat(ctx).Err())
				}
				cpu0, rcpu0, st0 := ProcessCPU(pid), ProcessCPU(redisPid), RedisStats(ctx, rdb)
				res, err := Load(ctx, client, url, bodies, *emgSenders, http.StatusAccepted)
				if err != nil {
					b.Fatalf("%v\n%s", err, lastLines(gw.Logs(), 20))
				}
				n := len(bodies)
				st := RedisStats(ctx, rdb)
				if *emgCmdStats && pid == gwPid {
					b.Logf("gateway commandstats per request: %s", CommandStats(ctx, rdb, n))
				}
				return side{LoadResult: res, cpu: (ProcessCPU(pid) - cpu0) / time.Duration(n),
					redisCPU: (ProcessCPU(redisPid) - rcpu0) / time.Duration(n),
					commands: float64(st.Commands-st0.Commands) / float64(n), reads: float64(st.Reads-st0.Reads) / float64(n)}
			}
			var g, r side
			if rep%2 == 0 {
				g, r = run(gwURL, gwPid), run(bareURL, barePid)
			} else {
				r, g = run(bareURL, barePid), run(gwURL, gwPid)
			}
			ratios = append(ratios, g.Rate()/r.Rate())
			cpuRatios = append(cpuRatios, float64(r.cpu+r.redisCPU)/float64(g.cpu+g.redisCPU))
			gwRates = append(gwRates, g.Rate())
			bareRates = append(bareRates, r.Rate())
			b.Logf("rep %d: gateway %s | bare %s | ratio %.2f, CPU ratio %.2f", rep+1, g, r, ratios[rep], cpuRatios[rep])
		}
		b.ReportMetric(Median(gwRates), "gateway-req/s")
		b.ReportMetric(Median(bareRates), "bare-req/s")
		b.ReportMetric(Median(ratios), "ratio")
		b.ReportMetric(Median(cpuRatios), "cpu-ratio")
		b.Logf("median ratio %.2f over %d repetitions %.2f; median CPU ratio %.2f %.2f", Median(ratios), len(ratios), ratios, Median(cpuRatios), cpuRatios)
	}
}

// profileCPU starts a CPU profile of the gateway through its
// GATEWAY_DEBUG_ADDR profiler and returns a function that waits for it and
// writes it to file.
func profileCPU(b *testing.B, debugURL string, seconds int, file string) func() {
	done := make(chan error, 1)
	go func() {
		resp, err := http.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", debugURL, seconds))
		if err != nil {
			done <- err
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			done <- fmt.Errorf("profile: %s", resp.Status)
			return
		}
		f, err := os.Create(file)
		if err != nil {
			done <- err
			return
		}
		_, err = io.Copy(f, resp.Body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		done <- err
	}()
	return func() {
		if err := <-done; err != nil {
			b.Errorf("CPU profile: %v", err)
			return
		}
		b.Logf("CPU profile of the gateway written to %s (go tool pprof -top %s)", file, file)
	}
}

// side is one side's figures in one repetition: the load result, the CPU
// its server process and redis-server spent per request, and the Redis work
// per request.
type side struct {
	LoadResult
	cpu, redisCPU time.Duration
	// commands and reads are redis-server's commands and socket reads (about
	// one per round trip) per request, background work included.
	commands, reads float64
}

func (s side) String() string {
	return fmt.Sprintf("%.0f req/s (p50 %s, p99 %s), CPU/req %s + redis %s, redis commands/req %.1f, reads/req %.1f", s.Rate(),
		s.Percentile(50).Round(time.Microsecond), s.Percentile(99).Round(time.Microsecond),
		s.cpu.Round(time.Microsecond), s.redisCPU.Round(time.Microsecond), s.commands, s.reads)
}

// startBare runs this test binary again as the bare EMG server on redisAddr
// and returns its URL and process id.
func startBare(b *testing.B, redisAddr, verifyFile, signFile string) (url string, pid int) {
	b.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(b))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SOG_BENCH_BARE_ADDR="+addr, "SOG_BENCH_BARE_REDIS="+redisAddr,
		"SOG_BENCH_BARE_VERIFY="+verifyFile, "SOG_BENCH_BARE_SIGN="+signFile)
	stdin, err := cmd.StdinPipe()
	testutil.Must(b, err)
	cmd.Stderr = os.Stderr
	testutil.Must(b, cmd.Start())
	b.Cleanup(func() { _ = stdin.Close(); _ = cmd.Wait() })
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "http://" + addr + "/", cmd.Process.Pid
		}
		if time.Now().After(deadline) {
			b.Fatal("the bare EMG server did not start")
		}
	}
}

func writePEM(b *testing.B, path, typ string, der []byte) string {
	b.Helper()
	testutil.Must(b, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
	return path
}

func must(der []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return der
}

func readPublic(path string) (*rsa.PublicKey, error) {
	blk, err := readPEM(path)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKIXPublicKey(blk)
	if err != nil {
		return nil, err
	}
	pub, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an RSA public key", path)
	}
	return pub, nil
}

func readPrivate(path string) (*rsa.PrivateKey, error) {
	blk, err := readPEM(path)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(blk)
	if err != nil {
		return nil, err
	}
	priv, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an RSA private key", path)
	}
	return priv, nil
}

func readPEM(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	return blk.Bytes, nil
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
