package soap_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/equus/sogateway/soap"
)

// ExampleNewHandler serves the default WorkflowService with a backend that
// answers every call, and calls ProcessInstanceTaskExternalAcknowledgement.
func ExampleNewHandler() {
	backend := soap.BackendFunc(func(ctx context.Context, c *soap.Call) (string, error) {
		// A real backend translates c.Document() through the ssp7 mapping and
		// commits it, keyed by c.MessageID or c.Digest().
		return "acknowledged " + c.Params["taskId"], nil
	})
	h, err := soap.NewHandler(soap.SSP7Contract(), backend, &soap.Options{
		Users: []soap.User{{Name: "ssp7", Password: soap.NewSecret("secret")}},
	})
	if err != nil {
		log.Fatal(err)
	}
	body := `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` +
		`<ProcessInstanceTaskExternalAcknowledgement xmlns="http://tempuri.org/">` +
		`<taskId>T-1</taskId><externalReference>EXT-9</externalReference>` +
		`</ProcessInstanceTaskExternalAcknowledgement></soap:Body></soap:Envelope>`
	r := httptest.NewRequest(http.MethodPost, "/Workflow/WebService/WorkflowService.asmx", strings.NewReader(body))
	r.Header.Set("Content-Type", "text/xml; charset=utf-8")
	r.Header.Set("SOAPAction", `"http://tempuri.org/ProcessInstanceTaskExternalAcknowledgement"`)
	r.SetBasicAuth("ssp7", "secret")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	_, result, _ := strings.Cut(w.Body.String(), "<ProcessInstanceTaskExternalAcknowledgementResult>")
	result, _, _ = strings.Cut(result, "<")
	fmt.Println(w.Code, result)
	// Output: 200 acknowledged T-1
}
