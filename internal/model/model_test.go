package model

import (
	"errors"
	"strings"
	"testing"
)

func TestOrderValidateNamesFieldAndRule(t *testing.T) {
	tests := []struct {
		name  string
		order Order
		want  []string
	}{
		{"ok", Order{Partner: "pruvan", Status: StatusNew}, nil},
		{"no partner", Order{Status: StatusNew}, []string{"partner: is required"}},
		{"bad partner", Order{Partner: "Pru Van", Status: StatusNew}, []string{"partner: must match"}},
		{"bad status", Order{Partner: "p", Status: "done"}, []string{`status: must be one of`, `got "done"`}},
		{"bad flag", Order{Partner: "p", Status: StatusNew, Flags: []Flag{"urgent"}}, []string{`flags[0]: must be rush or rework, got "urgent"`}},
		{"task without name", Order{Partner: "p", Status: StatusNew, Tasks: []Task{{}}}, []string{"tasks[0].name: is required"}},
		{"bad owner", Order{Partner: "p", Status: StatusNew, Fields: map[string]Field{"x": {Owner: "me"}}}, []string{"fields.x.owner"}},
		{"bad message direction", Order{Partner: "p", Status: StatusNew, Messages: []Message{{Text: "hi"}}}, []string{"messages[0].direction"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.order.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate() = %v, want an ErrInvalid", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestApplyRefusalLeavesOrderUntouched(t *testing.T) {
	o := &Order{Partner: "pruvan", Status: StatusNew, ClientStatus: "Order Created"}
	st := StatusClosed
	cs := "Order Closed"
	_, err := o.Apply(&Patch{Status: &st, ClientStatus: &cs, Fields: map[string]any{"internal_cost": 5}},
		ApplyOptions{Writer: "pruvan", Owners: map[string]Owner{"internal_cost": OwnerPlatform}})
	var re *RuleError
	if !errors.As(err, &re) || re.Field != "fields.internal_cost" || !errors.Is(err, ErrRefused) {
		t.Fatalf("Apply(platform-owned field by partner) = %v, want a RuleError on fields.internal_cost", err)
	}
	if o.Status != StatusNew || o.ClientStatus != "Order Created" {
		t.Fatalf("order after a refused patch = %s/%q, want it unchanged", o.Status, o.ClientStatus)
	}
}

func TestApplyFlagsAndChanges(t *testing.T) {
	o := &Order{Partner: "pruvan", Status: StatusNew}
	res, err := o.Apply(&Patch{AddFlags: []Flag{FlagRush}}, ApplyOptions{})
	if err != nil || !o.HasFlag(FlagRush) || len(res.Changed) != 1 {
		t.Fatalf("Apply(add rush) = %v %v %v, want the flag and one change", res, err, o.Flags)
	}
	res, _ = o.Apply(&Patch{AddFlags: []Flag{FlagRush}}, ApplyOptions{})
	if len(res.Changed) != 0 {
		t.Fatalf("Apply(add rush again) changed %v, want nothing", res.Changed)
	}
	_, _ = o.Apply(&Patch{RemoveFlags: []Flag{FlagRush}}, ApplyOptions{})
	if o.HasFlag(FlagRush) {
		t.Fatalf("rush still set after removal")
	}
	if _, err := o.Apply(&Patch{AddFlags: []Flag{"late"}}, ApplyOptions{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Apply(unknown flag) = %v, want ErrInvalid", err)
	}
}

func TestRequireCheck(t *testing.T) {
	o := &Order{ServiceType: "repair_depot", Status: StatusClosed}
	if err := (Require{ServiceTypes: []string{"repair_onsite"}}).Check(o, "appointment_scheduling"); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "repair_depot") {
		t.Errorf("onsite event on depot order = %v, want a refusal naming the service type", err)
	}
	if err := (Require{Accepted: true}).Check(o, "x"); !errors.Is(err, ErrConflict) {
		t.Errorf("not accepted = %v, want ErrConflict", err)
	}
	if err := (Require{Open: true}).Check(o, "x"); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "closed") {
		t.Errorf("closed order = %v, want ErrConflict naming closed", err)
	}
}

func TestSchemaListsEveryStatusAndEventType(t *testing.T) {
	s := string(Schema())
	for _, st := range Statuses {
		if !strings.Contains(s, `"`+string(st)+`"`) {
			t.Errorf("schema lacks status %s", st)
		}
	}
	for _, et := range EventTypes {
		if !strings.Contains(s, `"`+string(et)+`"`) {
			t.Errorf("schema lacks event type %s", et)
		}
	}
}

func TestApplyAssignment(t *testing.T) {
	o := &Order{ID: "o1", Partner: "ssp7", Status: StatusNew}
	steps := []struct {
		patch   Assignment
		want    *Assignment
		changed string
	}{
		{Assignment{Group: "network-ops"}, &Assignment{Group: "network-ops"}, "assignment.group"},
		{Assignment{Group: "network-ops", Assignee: "ann"}, &Assignment{Group: "network-ops", Assignee: "ann"}, "assignment.assignee"},
		{Assignment{Group: "network-ops", Assignee: "ann"}, &Assignment{Group: "network-ops", Assignee: "ann"}, ""},
		{Assignment{Group: "desk"}, &Assignment{Group: "desk"}, "assignment.group assignment.assignee"},
		{Assignment{Group: " "}, nil, "assignment.group"},
	}
	for i, s := range steps {
		a := s.patch
		res, err := o.Apply(&Patch{Assignment: &a}, ApplyOptions{})
		if err != nil {
			t.Fatalf("[%d] Apply = %v", i, err)
		}
		if got := strings.Join(res.Changed, " "); got != s.changed {
			t.Errorf("[%d] Apply(%+v).Changed = %q, want %q", i, s.patch, got, s.changed)
		}
		if (o.Assignment == nil) != (s.want == nil) || (o.Assignment != nil && *o.Assignment != *s.want) {
			t.Errorf("[%d] Assignment = %+v, want %+v", i, o.Assignment, s.want)
		}
	}
	o.Assignment = &Assignment{Group: ""}
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "assignment.group") {
		t.Errorf("Validate with an empty group = %v, want an error naming assignment.group", err)
	}
}
