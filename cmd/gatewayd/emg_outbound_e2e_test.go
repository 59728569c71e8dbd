package main

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/tidwall/gjson"

	"github.com/equus/sogateway/internal/testutil"
)

// emgReceiver stands for EMG: it verifies each Task's signature with our
// public key and keeps the Tasks that verify.
type emgReceiver struct {
	pub   *rsa.PublicKey
	mu    sync.Mutex
	tasks []string
	bad   []string
}

func (e *emgReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	task := gjson.GetBytes(b, "Task").Raw
	sig, err := base64.StdEncoding.DecodeString(gjson.GetBytes(b, "Signature").String())
	h := sha256.Sum256([]byte(task))
	e.mu.Lock()
	defer e.mu.Unlock()
	if err != nil || task == "" || rsa.VerifyPKCS1v15(e.pub, crypto.SHA256, h[:], sig) != nil {
		e.bad = append(e.bad, string(b))
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	e.tasks = append(e.tasks, task)
	w.WriteHeader(http.StatusAccepted)
}

func (e *emgReceiver) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.tasks)
}

func writeKey(t *testing.T, path, typ string, der []byte) string {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestBinaryEMGSignedTasksAndAcks runs the real binary with redis-server and
// a local receiver standing for EMG (seed 003): Save and Send posts a signed
// Create whose signature verifies with our public key; EMG's Ack with
// StatusCode 201 marks the delivery Success and records its ServicerId; an
// Ack with 400 marks the delivery Failure with the reason and leaves the
// order unacknowledged.
func TestBinaryEMGSignedTasksAndAcks(t *testing.T) {
	testutil.RequireIntegration(t)
	ours, err := rsa.GenerateKey(rand.Reader, 2048)
	testutil.Must(t, err)
	theirs, err := rsa.GenerateKey(rand.Reader, 2048)
	testutil.Must(t, err)
	dir := t.TempDir()
	priv, _ := x509.MarshalPKCS8PrivateKey(ours)
	pub, _ := x509.MarshalPKIXPublicKey(&theirs.PublicKey)
	emg := &emgReceiver{pub: &ours.PublicKey}
	es := httptest.NewServer(emg)
	t.Cleanup(es.Close)
	g := startGateway(t, "REDIS_URL="+testutil.StartRedis(t).URL(), "EMG_URL="+es.URL,
		"EMG_SIGNING_KEY_FILE="+writeKey(t, filepath.Join(dir, "ours.pem"), "PRIVATE KEY", priv),
		"EMG_PUBLIC_KEY_FILE="+writeKey(t, filepath.Join(dir, "emg.pub"), "PUBLIC KEY", pub))
	const source = "3e095d30-40ff-11e9-8959-5be078353003"

	ack := func(requestor, originationID string, body string) {
		t.Helper()
		task := fmt.Sprintf(`{"Id":%q,"Source":%q,"Verb":"Ack","Resource":"BreakFix","ContentType":"application/json","CreateTimeUTC":"2026-12-02T10:00:00.000Z","Version":"1.0","OriginationId":%q,"OriginationVerb":"Create","Body":{"RequestorId":%q,%s}}`,
			uuid.NewString(), source, originationID, requestor, body)
		h := sha256.Sum256([]byte(task))
		sig, err := rsa.SignPKCS1v15(rand.Reader, theirs, crypto.SHA256, h[:])
		testutil.Must(t, err)
		req, _ := http.NewRequest("POST", g.URL+"/partners/emg/messages", strings.NewReader(`{"Task":`+task+`,"Signature":"`+base64.StdEncoding.EncodeToString(sig)+`"}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		testutil.Must(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Fatalf("Ack = %d %s", resp.StatusCode, b)
		}
	}
	delivery := func(id string) map[string]any {
		_, _, ds := do(t, "GET", g.URL+"/v1/orders/"+id+"/deliveries", "")
		l, _ := ds["deliveries"].([]any)
		if len(l) != 1 {
			t.Fatalf("deliveries = %v, want one", ds)
		}
		return l[0].(map[string]any)
	}
	sendOne := func(ref string) (id string, task gjson.Result) {
		t.Helper()
		code, _, o := do(t, "POST", g.URL+"/v1/orders", fmt.Sprintf(`{"partner":"emg","company":"globex","service_type":"breakfix","refs":{"requestor":%q},"fields":{"description":"Replace failed PSU in cage 4"}}`, ref))
		if code != 201 {
			t.Fatalf("create = %d %v", code, o)
		}
		id = o["id"].(string)
		n := emg.count()
		if code, _, r := do(t, "POST", g.URL+"/v1/orders/"+id+"/send", ""); code != 202 {
			t.Fatalf("send = %d %v", code, r)
		}
		waitFor(t, "EMG to receive a signed Task", 30*time.Second, func() bool { return emg.count() == n+1 })
		emg.mu.Lock()
		task = gjson.Parse(emg.tasks[n])
		emg.mu.Unlock()
		waitFor(t, "the delivery to await its Ack", 10*time.Second, func() bool { return delivery(id)["awaiting_ack"] == true })
		return id, task
	}

	id1, task := sendOne("REQ-1")
	if task.Get("Verb").String() != "Create" || task.Get("Resource").String() != "BreakFix" || task.Get("Source").String() != source ||
		task.Get("Body.RequestorId").String() != "REQ-1" || uuid.Validate(task.Get("Id").String()) != nil {
		t.Fatalf("Task = %s, want a Create of BreakFix REQ-1 from our Source with a GUID id", task.Raw)
	}
	if d := delivery(id1); d["status"] != "Sending" {
		t.Fatalf("delivery before the Ack = %v, want Sending", d)
	}
	ack("REQ-1", task.Get("Id").String(), `"ServicerId":"1-199912345789","StatusCode":201`)
	d := delivery(id1)
	if d["status"] != "Success" || fmt.Sprint(d["ack"].(map[string]any)["servicer_id"]) != "1-199912345789" {
		t.Fatalf("delivery after Ack 201 = %v, want Success with the servicer id", d)
	}
	_, _, o1 := do(t, "GET", g.URL+"/v1/orders/"+id1, "")
	if o1["status"] != "acknowledged" || o1["refs"].(map[string]any)["servicer"] != "1-199912345789" {
		t.Errorf("order after Ack 201 = %v, want acknowledged with EMG's ServicerId", o1)
	}

	id2, task2 := sendOne("REQ-2")
	if task2.Get("Id").String() == task.Get("Id").String() {
		t.Errorf("two messages share Task.Id %s", task2.Get("Id"))
	}
	ack("REQ-2", task2.Get("Id").String(), `"StatusCode":400,"Description":"IBX is not valid for this account"`)
	d = delivery(id2)
	if d["status"] != "Failure" || !strings.Contains(fmt.Sprint(d["last_error"]), "400") || !strings.Contains(fmt.Sprint(d["last_error"]), "IBX is not valid") {
		t.Fatalf("delivery after Ack 400 = %v, want Failure with the reason", d)
	}
	_, _, o2 := do(t, "GET", g.URL+"/v1/orders/"+id2, "")
	if o2["status"] == "acknowledged" || o2["refs"].(map[string]any)["servicer"] != nil {
		t.Errorf("order after Ack 400 = %v, want it unacknowledged", o2)
	}
	emg.mu.Lock()
	defer emg.mu.Unlock()
	if len(emg.bad) != 0 {
		t.Errorf("EMG got %d Tasks whose signature did not verify", len(emg.bad))
	}
}
