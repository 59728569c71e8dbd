package dispatch

import (
	"reflect"
	"strings"

	"github.com/equus/sogateway/internal/model"
)

// missingFields returns the required order paths that are empty on o.
func missingFields(o *model.Order, paths []string) []string {
	var out []string
	for _, p := range paths {
		if isEmpty(pathValue(o, p)) {
			out = append(out, p)
		}
	}
	return out
}

func isEmpty(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String:
		return strings.TrimSpace(rv.String()) == ""
	case reflect.Slice, reflect.Map:
		return rv.Len() == 0
	case reflect.Pointer, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// pathValue reads an order path (configs.OrderPaths or fields.<name>).
func pathValue(o *model.Order, p string) any {
	if name, ok := strings.CutPrefix(p, "fields."); ok {
		if f, ok := o.Fields[name]; ok {
			return f.Value
		}
		return nil
	}
	switch p {
	case "company":
		return o.Company
	case "service_type":
		return o.ServiceType
	case "refs.requestor":
		return o.Refs.Requestor
	case "refs.servicer":
		return o.Refs.Servicer
	case "status":
		return string(o.Status)
	case "flags":
		return o.Flags
	case "partner_status":
		return o.PartnerStatus
	case "client_status":
		return o.ClientStatus
	case "tasks":
		return o.Tasks
	case "attachments":
		return o.Attachments
	case "messages":
		return o.Messages
	}
	return nil
}

// changedPaths returns the watched paths whose value differs.
func changedPaths(before, after *model.Order, watch []string) []string {
	var out []string
	for _, p := range watch {
		a, b := pathValue(before, p), pathValue(after, p)
		if isEmpty(a) && isEmpty(b) {
			continue
		}
		if !reflect.DeepEqual(a, b) {
			out = append(out, p)
		}
	}
	return out
}
