package httpapi

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/aabendialog/aabendialog/domain"
	"github.com/aabendialog/aabendialog/handlers/query"
	"github.com/aabendialog/aabendialog/projections"
)

// enums lists the values of the domain's closed sets, for the API document.
var enums = map[reflect.Type][]string{
	reflect.TypeFor[domain.ParticipantKind](): {string(domain.KindProfessional), string(domain.KindNetwork), string(domain.KindRegion), string(domain.KindOther)},
	reflect.TypeFor[domain.PlaceKind]():       {string(domain.PlaceHome), string(domain.PlaceChosen), string(domain.PlaceOffice), string(domain.PlaceOnline)},
	reflect.TypeFor[domain.MandateKind]():     {string(domain.MandateSupport), string(domain.MandateRepresentative)},
}

type object = map[string]any

// schemaOf describes a command field's Go type as a JSON Schema.
func schemaOf(t reflect.Type) object {
	switch t {
	case reflect.TypeFor[uuid.UUID]():
		return object{"type": "string", "format": "uuid"}
	case reflect.TypeFor[time.Time]():
		return object{"type": "string", "format": "date-time"}
	}
	if vs, ok := enums[t]; ok {
		return object{"type": "string", "enum": vs}
	}
	switch t.Kind() {
	case reflect.Bool:
		return object{"type": "boolean"}
	case reflect.String:
		return object{"type": "string"}
	case reflect.Slice:
		return object{"type": "array", "items": schemaOf(t.Elem())}
	}
	return object{}
}

// commandSchema describes a command's JSON body from its struct: every field, which are
// required (those the JSON always carries, booleans excepted), and nothing else allowed.
func commandSchema(cmd domain.Command) object {
	t := reflect.TypeOf(cmd).Elem()
	props := object{}
	var required []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		props[name] = schemaOf(f.Type)
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") && f.Type.Kind() != reflect.Bool {
			required = append(required, name)
		}
	}
	s := object{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func errorResponse(desc string) object {
	return object{"description": desc, "content": object{"application/json": object{"schema": object{"$ref": "#/components/schemas/Error"}}}}
}

// OpenAPIDocument returns the API's OpenAPI 3.0 document for the given routes.
func OpenAPIDocument(routes []Route) []byte {
	paths := object{}
	add := func(path, method string, op object) {
		p, _ := paths[path].(object)
		if p == nil {
			p = object{}
			paths[path] = p
		}
		p[strings.ToLower(method)] = op
	}
	for _, r := range routes {
		name, isCommand := strings.CutPrefix(r.Path, "/api/v1/commands/")
		switch {
		case isCommand:
			cmd, _ := domain.NewCommand(name)
			add(r.Path, r.Method, object{
				"operationId": name,
				"summary":     domain.CommandSummary(name),
				"tags":        []string{"commands"},
				"security":    []object{{"bearer": []string{}}},
				"parameters": []object{{
					"name": HeaderIdempotencyKey, "in": "header", "required": false,
					"description": "The command id (a UUID). The same id again returns the first reply and writes nothing.",
					"schema":      object{"type": "string", "format": "uuid"},
				}},
				"requestBody": object{"required": true, "content": object{"application/json": object{"schema": commandSchema(cmd)}}},
				"responses": object{
					"200": object{"description": "The command was carried out (or had been, with the same id).", "content": object{"application/json": object{"schema": object{"$ref": "#/components/schemas/Reply"}}}},
					"400": errorResponse("The command is malformed or breaks a rule about its content; the error names the field."),
					"401": errorResponse("No valid token."),
					"403": errorResponse("This person may not give this command for this meeting."),
					"404": errorResponse("The meeting (or the participant or follow-up named) does not exist."),
					"409": errorResponse("The meeting's state does not allow it, or it changed at the same time too often."),
					"413": errorResponse("The body is too large."),
					"415": errorResponse("The body is not JSON."),
					"503": errorResponse("The log did not answer in time; send the same command again."),
				},
			})
		case r.Path == "/api/v1/replay" || r.Path == "/api/v1/evaluation/replay":
			who := "Citizens and their support persons see their own meetings in full, invited participants theirs; evaluators see pseudonyms and no names or free text."
			if strings.HasPrefix(r.Path, "/api/v1/evaluation/") {
				who = "Evaluators only: pseudonyms, services by name, no names or free text."
			}
			var params []object
			for _, p := range [][2]string{{"citizen", "A citizen id, or (evaluators) a citizen's pseudonym."}, {"meeting", "A meeting id (instead of a citizen)."}, {"as_of", "Replay up to this time (RFC 3339)."}, {"at_seq", "Replay up to this sequence."}} {
				params = append(params, object{"name": p[0], "in": "query", "required": false, "description": p[1], "schema": object{"type": "string"}})
			}
			add(r.Path, r.Method, object{"operationId": strings.ReplaceAll(strings.TrimPrefix(r.Path, "/api/v1/"), "/", "-"),
				"summary": "A history event by event, and the meetings as they stood. " + who, "tags": []string{"evaluation"},
				"security": []object{{"bearer": []string{}}}, "parameters": params,
				"responses": object{"200": object{"description": "The replay.", "content": object{"application/json": object{"schema": object{"type": "object"}}}},
					"400": errorResponse("A parameter is malformed; the error names it."), "401": errorResponse("No valid token."),
					"403": errorResponse("This person may not see this history."), "404": errorResponse("No such meeting or pseudonym.")}})
		case r.Path == "/api/v1/evaluation/indicators":
			var params []object
			for _, p := range []string{"from", "to", "service", "after"} {
				params = append(params, object{"name": p, "in": "query", "required": false, "schema": queryParamSchema[p], "description": queryParamDoc[p]})
			}
			params = append(params, object{"name": "format", "in": "query", "required": false, "schema": object{"type": "string", "enum": []string{"json", "csv", "html"}}})
			add(r.Path, r.Method, object{"operationId": "evaluation-indicators", "summary": "The Open Dialogue indicators (docs/indicators.md), evaluators only.",
				"tags": []string{"evaluation"}, "security": []object{{"bearer": []string{}}}, "parameters": params,
				"responses": object{"200": object{"description": "The indicators.", "content": object{
					"application/json": object{"schema": object{"type": "object"}}, "text/csv": object{"schema": object{"type": "string"}}, "text/html": object{"schema": object{"type": "string"}}}},
					"400": errorResponse("A parameter is malformed; the error names it."), "401": errorResponse("No valid token."), "403": errorResponse("Not an evaluator.")}})
		case r.Path == "/api/v1/sign-out":
			add(r.Path, r.Method, object{"operationId": "sign-out", "summary": "Revoke the token this request carries, in every server process, until it would have expired.",
				"tags": []string{"operations"}, "security": []object{{"bearer": []string{}}},
				"responses": object{"204": object{"description": "Signed out: the token is refused from now on."},
					"401": errorResponse("No valid token (or signed out already)."), "500": errorResponse("The revocation could not be written; try again."),
					"503": errorResponse("The log did not answer in time; try again.")}})
		case r.Path == "/api/v1/directory":
			add(r.Path, r.Method, object{"operationId": "directory", "summary": "The staff directory: professionals who have signed in through the staff provider, by service and name, with the person id to invite.",
				"tags": []string{"queries"}, "security": []object{{"bearer": []string{}}},
				"parameters": []object{{"name": "service", "in": "query", "required": false, "schema": object{"type": "string"}, "description": "Only this service's professionals."}},
				"responses": object{"200": object{"description": "The professionals.", "content": object{"application/json": object{"schema": object{"type": "array", "items": object{"type": "object",
					"properties": object{"person_id": object{"type": "string", "format": "uuid"}, "name": object{"type": "string"}, "service": object{"type": "string"}}}}}}},
					"400": errorResponse("An unknown parameter."), "401": errorResponse("No valid token.")}})
		case r.Path == "/api/v1/read-models":
			add(r.Path, r.Method, object{"operationId": "read-models", "summary": "The read models' checkpoints, errors and rebuild progress (administrators).",
				"tags": []string{"read models"}, "security": []object{{"bearer": []string{}}},
				"responses": object{"200": object{"description": "One entry per read model.", "content": object{"application/json": object{"schema": object{"type": "array", "items": object{"type": "object"}}}}},
					"401": errorResponse("No valid token."), "403": errorResponse("Not an administrator.")}})
		case strings.HasSuffix(r.Path, "/rebuild"):
			add(r.Path, r.Method, object{"operationId": "rebuild-" + strings.Split(r.Path, "/")[4], "summary": "Build the read model again from the start of the log and swap it in; answers when done.",
				"tags": []string{"read models"}, "security": []object{{"bearer": []string{}}},
				"responses": object{"200": object{"description": "Rebuilt.", "content": object{"application/json": object{"schema": object{"type": "object"}}}},
					"401": errorResponse("No valid token."), "403": errorResponse("Not an administrator."), "409": errorResponse("Already being rebuilt."),
					"500": errorResponse("The rebuild failed; the old read model is still in use.")}})
		case strings.HasPrefix(r.Path, "/api/v1/") && query.Params(strings.TrimPrefix(r.Path, "/api/v1/")) != nil:
			name := strings.TrimPrefix(r.Path, "/api/v1/")
			var params []object
			for _, p := range query.Params(name) {
				schema, doc := queryParamSchema[p], queryParamDoc[p]
				if p == "limit" {
					l := pageLimits[name]
					schema = object{"type": "integer", "minimum": 1, "maximum": l.Max, "default": l.Default}
					doc = fmt.Sprintf("The page size: %d by default, at most %d. %s", l.Default, l.Max, doc)
				}
				params = append(params, object{"name": p, "in": "query", "required": false, "schema": schema, "description": doc})
			}
			answer := object{"type": "object", "required": []string{"items"}, "properties": object{
				"items":       object{"type": "array", "items": object{"type": "object"}},
				"next_cursor": nextCursorSchema}}
			switch name {
			case "services":
				answer = object{"$ref": "#/components/schemas/ServicesReport"}
			case "inbox":
				answer = object{"type": "object", "required": []string{"invitations", "coming", "follow_ups"}, "properties": object{
					"invitations": object{"type": "array", "items": object{"type": "object"}, "description": "Invitations to answer."},
					"coming":      object{"type": "array", "items": object{"type": "object"}, "description": "Accepted meetings still to come."},
					"follow_ups":  object{"type": "array", "items": object{"type": "object"}, "description": "Follow-ups the person asking owns and has not done."},
					"next_cursor": nextCursorSchema}}
			}
			add(r.Path, r.Method, object{"operationId": name, "summary": querySummary[name], "tags": []string{"queries"},
				"security": []object{{"bearer": []string{}}}, "parameters": params,
				"responses": object{
					"200": object{"description": "The answer, as much as the actor may see.", "content": object{"application/json": object{"schema": answer}}},
					"400": errorResponse("A parameter is malformed or unknown; the error names it."),
					"401": errorResponse("No valid token."),
					"403": errorResponse("This person may not ask this."),
					"503": errorResponse("The read model has not reached the sequence in after yet."),
				}})
		case r.Path == "/healthz" || r.Path == "/readyz":
			add(r.Path, r.Method, object{"operationId": strings.TrimPrefix(r.Path, "/"), "tags": []string{"operations"},
				"summary": map[string]string{"/healthz": "The process is alive.", "/readyz": "The service can answer: the log is reachable."}[r.Path],
				"responses": object{
					"200": object{"description": "Yes.", "content": object{"application/json": object{"schema": object{"$ref": "#/components/schemas/Status"}}}},
					"503": object{"description": "Not now.", "content": object{"application/json": object{"schema": object{"$ref": "#/components/schemas/Status"}}}},
				}})
		case r.Path == "/api/v1/openapi.json":
			add(r.Path, r.Method, object{"operationId": "openapi", "summary": "This document.", "tags": []string{"operations"},
				"responses": object{"200": object{"description": "The OpenAPI document.", "content": object{"application/json": object{"schema": object{"type": "object"}}}}}})
		}
	}
	doc := object{
		"openapi": "3.0.3",
		"info": object{
			"title":       "aabendialog",
			"version":     "1",
			"description": "Commands for Åben Dialog (Open Dialogue) meetings. Every command is also served over NATS request/reply on dialog.cmd.<command-name> with the same JSON in and out.",
		},
		"paths": paths,
		"components": object{
			"securitySchemes": object{"bearer": object{"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
			"schemas": object{
				"Reply": object{"type": "object", "required": []string{"meeting_id", "command_id", "command", "sequence", "duplicate", "events"},
					"properties": object{
						"meeting_id": object{"type": "string", "format": "uuid", "description": "The meeting; the nil UUID for a command about the citizen's mandates."},
						"citizen_id": object{"type": "string", "format": "uuid", "description": "The citizen, for a command about their mandates (grant-mandate, revoke-mandate)."},
						"command_id": object{"type": "string", "format": "uuid"},
						"command":    object{"type": "string"},
						"sequence":   object{"type": "integer", "format": "int64", "minimum": 1, "description": "The stream sequence written; a query can wait until its read model has reached it."},
						"duplicate":  object{"type": "boolean", "description": "The command id was handled before; this is the first reply and nothing new was written."},
						"events": object{"type": "array", "items": object{"type": "object", "required": []string{"type", "data"},
							"properties": object{"type": object{"type": "string", "enum": append(domain.EventTypes(), domain.CitizenEventTypes()...)}, "data": object{"type": "object"}}}},
					}},
				"Error": object{"type": "object", "required": []string{"error"}, "properties": object{"error": object{
					"type": "object", "required": []string{"kind", "message"},
					"properties": object{
						"kind":    object{"type": "string", "enum": []string{"invalid", "forbidden", "not_found", "conflict", "unauthenticated", "too_large", "unavailable", "internal"}},
						"field":   object{"type": "string", "description": "The field at fault, if any."},
						"message": object{"type": "string"},
					}}}},
				"Status":         object{"type": "object", "required": []string{"status"}, "properties": object{"status": object{"type": "string"}, "reason": object{"type": "string"}}},
				"ServicesReport": servicesReportSchema,
			},
		},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic(err) // impossible: the document is built of maps, slices and strings
	}
	return b
}

var querySummary = map[string]string{
	"history":    "A citizen's meetings in time order: status, time and place, agenda, participants and their answers, follow-ups.",
	"inbox":      "For the person asking: invitations to answer, coming meetings, follow-ups they own.",
	"follow-ups": "Follow-ups of the meetings the person asking may see.",
	"access-log": "Who has read the citizen's data, newest first: when, the reader's role and service (the name only where the municipality shows names), what and why. For the citizen, a support person with a standing mandate, and administrators (by citizen or by reader, itself logged); refused to everyone else.",
	"services":   "Which services took part and which meet the same citizens, per period. Aggregates (per service, per pair of services) of fewer than k citizens (serve --min-group, default 5) are suppressed and say so; pairs with a suppressed service are not listed. Professionals also get per-meeting rows of the meetings they are part of; evaluators and administrators get aggregates only.",
}

var queryParamSchema = map[string]object{
	"citizen": {"type": "string", "format": "uuid"}, "owner": {"type": "string", "format": "uuid"}, "actor": {"type": "string", "format": "uuid"},
	"after": {"type": "integer", "minimum": 0}, "overdue": {"type": "boolean"},
	"from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"}, "service": {"type": "string"},
	"period": {"type": "string", "pattern": `^\d{4}(-([Qq][1-4]|0[1-9]|1[0-2]))?$`},
	"cursor": {"type": "string"},
}

// pageLimits are the page sizes of the queries that page.
var pageLimits = map[string]projections.Limits{
	"history": projections.HistoryLimits, "follow-ups": projections.FollowUpLimits,
	"inbox": projections.InboxLimits, "services": projections.PerMeetingLimits, "access-log": query.AccessLogLimits,
}

var nextCursorSchema = object{"type": "string", "description": "Present when there is a next page: give it as cursor (with the same other parameters) to get it. Opaque. A page also ends before its JSON passes 1 MiB."}

var queryParamDoc = map[string]string{
	"limit":   "Each list of the answer pages on its own (the inbox's three lists; the services report's per_meeting rows).",
	"cursor":  "The next_cursor of the page before; none for the first page.",
	"citizen": "The citizen (default: the citizen asking, or the one a support person acts for).",
	"after":   "Wait (up to 5 s) until the read model has reached this sequence: the one a command returned.",
	"owner":   "Only follow-ups this person is responsible for.",
	"service": "Only this service.",
	"overdue": "Only follow-ups past their due date and not done.",
	"from":    "First day (YYYY-MM-DD) a meeting was convened on.",
	"to":      "Last day (YYYY-MM-DD) a meeting was convened on.",
	"actor":   "Administrators: only entries by this reader (a misuse investigation).",
	"period":  "A year (2026), a quarter (2026-Q1) or a month (2026-03), by the day meetings were convened (UTC); all time when left out.",
}

// servicesReportSchema is the services report's shape: figures are left out of a suppressed
// row, which says so.
var servicesReportSchema = func() object {
	count := object{"type": "integer", "minimum": 0}
	return object{"type": "object", "additionalProperties": false, "required": []string{"min_group", "per_service", "together"},
		"properties": object{
			"period":    object{"type": "string", "description": "The period covered: a year, a quarter or a month; all time when absent."},
			"from":      object{"type": "string", "format": "date", "description": "The period's first day."},
			"to":        object{"type": "string", "format": "date", "description": "The period's last day."},
			"min_group": object{"type": "integer", "minimum": 1, "description": "k: the fewest citizens a figure is shown for."},
			"per_service": object{"type": "array", "description": "Every service that took part in the period; suppressed (no figures) when it met fewer than min_group citizens.",
				"items": object{"type": "object", "additionalProperties": false, "required": []string{"service", "suppressed"},
					"properties": object{"service": object{"type": "string"}, "suppressed": object{"type": "boolean"},
						"meetings": count, "citizens": count, "invited": count, "accepted": count, "attended": count}}},
			"together": object{"type": "array", "description": "Pairs of services shown in per_service that met the same citizens; suppressed (no figures) when fewer than min_group citizens met both. Shown pairs come first, most citizens first; suppressed ones after, by name.",
				"items": object{"type": "object", "additionalProperties": false, "required": []string{"a", "b", "suppressed"},
					"properties": object{"a": object{"type": "string"}, "b": object{"type": "string"}, "suppressed": object{"type": "boolean"},
						"shared_citizens": count, "meetings_together": count}}},
			"next_cursor": nextCursorSchema,
			"per_meeting": object{"type": "array", "description": "Professionals only: the meetings they are part of (invited and not withdrawn, or present), a page of them; the aggregates come whole with every page.",
				"items": object{"type": "object", "additionalProperties": false, "required": []string{"meeting_id", "convened_on", "status", "service", "invited", "accepted", "attended"},
					"properties": object{"meeting_id": object{"type": "string", "format": "uuid"}, "convened_on": object{"type": "string", "format": "date"},
						"status": object{"type": "string"}, "service": object{"type": "string"}, "invited": count, "accepted": count, "attended": count}}},
		}}
}()
