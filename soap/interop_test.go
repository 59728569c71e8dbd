package soap

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os/exec"
	"reflect"
	"testing"
	"time"

	"github.com/equus/sogateway/internal/testutil"
)

// runInterop serves the default contract and runs a third-party client script
// for each SOAP version and auth kind, checking what reached the backend.
func runInterop(t *testing.T, argv ...string) {
	for _, version := range []string{V11, V12} {
		for _, auth := range []string{"basic", "wsse-text", "wsse-digest"} {
			t.Run(version+"/"+auth, func(t *testing.T) {
				rec := &recorder{}
				h := newTestHandler(t, rec, func(o *Options) { o.Now = nil })
				srv := httptest.NewServer(h)
				defer srv.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				args := append(append([]string(nil), argv[1:]...),
					srv.URL+"/Workflow/WebService/WorkflowService.asmx?WSDL", version, auth, testUser, testPassword, "T-1001")
				cmd := exec.CommandContext(ctx, argv[0], args...)
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				if err := cmd.Run(); err != nil {
					t.Fatalf("%s: %v\nstdout: %s\nstderr: %s", argv, err, stdout.String(), stderr.String())
				}
				var got map[string]any
				if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
					t.Fatalf("client output %q: %v", stdout.String(), err)
				}
				want := map[string]any{
					"ProcessInstanceTaskExternalAcknowledgement": "OK ProcessInstanceTaskExternalAcknowledgement T-1001",
					"ProcessInstanceTaskExternalUpdateMessage":   "OK ProcessInstanceTaskExternalUpdateMessage T-1001",
					"ProcessInstanceTaskExternalReassignment":    "OK ProcessInstanceTaskExternalReassignment T-1001",
					"unknown_task_fault":                         `unknown task: no task matches taskId "no-such-task"`,
					"unknown_task_fault_status":                  float64(500),
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("client printed %v, want %v", got, want)
				}
				calls := rec.Calls()
				wantCalls := []Call{
					{Operation: "ProcessInstanceTaskExternalAcknowledgement", Params: map[string]string{"taskId": "T-1001", "externalReference": "EXT-42"}},
					{Operation: "ProcessInstanceTaskExternalUpdateMessage", Params: map[string]string{"taskId": "T-1001", "message": "Technician on site <&> été ✓"}},
					{Operation: "ProcessInstanceTaskExternalReassignment", Params: map[string]string{"taskId": "T-1001", "solution": "Replaced the fan", "closed": "true"}},
					{Operation: "ProcessInstanceTaskExternalUpdateMessage", Params: map[string]string{"taskId": "no-such-task", "message": "hello"}},
				}
				if len(calls) != len(wantCalls) {
					t.Fatalf("backend got %d calls %+v, want %d", len(calls), calls, len(wantCalls))
				}
				for i, c := range calls {
					w := wantCalls[i]
					if c.Operation != w.Operation || !reflect.DeepEqual(c.Params, w.Params) || c.Version != version || c.Username != testUser {
						t.Errorf("call %d = %s %v (SOAP %s, user %q), want %s %v (SOAP %s, user %q)",
							i, c.Operation, c.Params, c.Version, c.Username, w.Operation, w.Params, version, testUser)
					}
				}
			})
		}
	}
}

// TestInteropZeep drives all operations with Debian's python3-zeep.
func TestInteropZeep(t *testing.T) {
	testutil.RequireIntegration(t, "/usr/bin/python3")
	if err := exec.Command("/usr/bin/python3", "-c", "import zeep").Run(); err != nil {
		t.Fatalf("python3-zeep is not installed: %v", err)
	}
	runInterop(t, "/usr/bin/python3", "testdata/zeep_client.py")
}

// TestInteropPHP drives all operations with PHP's SoapClient (php-cli, php-soap).
func TestInteropPHP(t *testing.T) {
	testutil.RequireIntegration(t, "php")
	if out, err := exec.Command("php", "-r", "exit(class_exists('SoapClient') ? 0 : 1);").CombinedOutput(); err != nil {
		t.Fatalf("php-soap is not installed: %v %s", err, out)
	}
	runInterop(t, "php", "testdata/php_client.php")
}
