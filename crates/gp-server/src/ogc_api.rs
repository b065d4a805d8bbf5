//! The OpenAPI 3.0 document of the OGC face (`/arcgis/ogc/api`): every path, its
//! parameters and its answers, with schemas of the shapes answered, so a generic
//! tester (schemathesis) can call each and check what comes back.

use serde_json::{Value, json};

fn ok(schema: &str) -> Value {
    json!({"description": "OK", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

fn problem(description: &str) -> Value {
    json!({"description": description, "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/exception"}}}})
}

/// The document for the API served at `base`. Process ids are left open (a string):
/// a generic tester given the real ones would run them with made-up inputs, `Wait`
/// for days included.
pub(crate) fn document(base: &str) -> Value {
    let process_id =
        json!({"name": "processID", "in": "path", "required": true, "schema": {"type": "string"}});
    let job_id =
        json!({"name": "jobId", "in": "path", "required": true, "schema": {"type": "string"}});
    json!({
        "openapi": "3.0.3",
        "info": {"title": "gp-server OGC API – Processes", "version": env!("CARGO_PKG_VERSION"),
                 "description": "The geoprocessing tasks of gp-server as OGC API – Processes (Part 1: Core)."},
        "servers": [{"url": base}],
        "paths": {
            "/": {"get": {"operationId": "landingPage", "responses": {"200": ok("landingPage")}}},
            "/conformance": {"get": {"operationId": "conformance", "responses": {"200": ok("confClasses")}}},
            "/processes": {"get": {"operationId": "processes", "responses": {"200": ok("processList")}}},
            "/processes/{processID}": {"get": {
                "operationId": "process", "parameters": [process_id],
                "responses": {"200": ok("process"), "404": problem("no such process")}}},
            "/processes/{processID}/execution": {"post": {
                "operationId": "execute",
                "parameters": [process_id, {"name": "Prefer", "in": "header", "required": false, "schema": {"type": "string"}}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/execute"}}}},
                "responses": {
                    "200": {"description": "the results (synchronous)", "content": {"application/json": {"schema": {}}}},
                    "201": {"description": "a job (asynchronous)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/statusInfo"}}}},
                    "400": problem("a bad input"),
                    "404": problem("no such process"),
                    "500": problem("the process failed")}}},
            "/jobs": {"get": {"operationId": "jobs", "responses": {"200": ok("jobList")}}},
            "/jobs/{jobId}": {
                "get": {"operationId": "status", "parameters": [job_id],
                        "responses": {"200": ok("statusInfo"), "404": problem("no such job")}},
                "delete": {"operationId": "dismiss", "parameters": [job_id],
                           "responses": {"200": ok("statusInfo"), "404": problem("no such job")}}},
            "/jobs/{jobId}/results/{outputId}": {"get": {"operationId": "result", "parameters": [job_id,
                    {"name": "outputId", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "the output's value", "content": {"application/json": {"schema": {}}}},
                              "404": problem("no such job or output, or not ready"),
                              "500": problem("the job failed")}}},
            "/jobs/{jobId}/results": {"get": {"operationId": "results", "parameters": [job_id],
                "responses": {"200": {"description": "the results", "content": {"application/json": {"schema": {"type": "object"}}}},
                              "404": problem("no such job, or not ready"),
                              "500": problem("the job failed")}}}
        },
        "components": {"schemas": {
            "link": {"type": "object", "required": ["href"], "properties": {
                "href": {"type": "string"}, "rel": {"type": "string"}, "type": {"type": "string"}, "title": {"type": "string"}}},
            "landingPage": {"type": "object", "required": ["links"], "properties": {
                "title": {"type": "string"}, "description": {"type": "string"},
                "links": {"type": "array", "items": {"$ref": "#/components/schemas/link"}}}},
            "confClasses": {"type": "object", "required": ["conformsTo"], "properties": {
                "conformsTo": {"type": "array", "items": {"type": "string"}}}},
            "processSummary": {"type": "object", "required": ["id", "version"], "properties": {
                "id": {"type": "string"}, "title": {"type": "string"}, "description": {"type": "string"},
                "version": {"type": "string"},
                "jobControlOptions": {"type": "array", "items": {"type": "string", "enum": ["sync-execute", "async-execute", "dismiss"]}},
                "outputTransmission": {"type": "array", "items": {"type": "string", "enum": ["value", "reference"]}},
                "links": {"type": "array", "items": {"$ref": "#/components/schemas/link"}}}},
            "processList": {"type": "object", "required": ["processes", "links"], "properties": {
                "processes": {"type": "array", "items": {"$ref": "#/components/schemas/processSummary"}},
                "links": {"type": "array", "items": {"$ref": "#/components/schemas/link"}}}},
            "process": {"allOf": [{"$ref": "#/components/schemas/processSummary"}, {"type": "object", "properties": {
                "inputs": {"type": "object", "additionalProperties": {"type": "object", "required": ["schema"]}},
                "outputs": {"type": "object", "additionalProperties": {"type": "object", "required": ["schema"]}}}}]},
            "execute": {"type": "object", "properties": {
                "inputs": {"type": "object"}, "outputs": {"type": "object"},
                "response": {"type": "string", "enum": ["raw", "document"]}}},
            "statusInfo": {"type": "object", "required": ["jobID", "status", "type"], "properties": {
                "processID": {"type": "string"}, "type": {"type": "string", "enum": ["process"]},
                "jobID": {"type": "string"},
                "status": {"type": "string", "enum": ["accepted", "running", "successful", "failed", "dismissed"]},
                "message": {"type": "string"}, "created": {"type": "string", "format": "date-time"},
                "finished": {"type": "string", "format": "date-time"}, "updated": {"type": "string", "format": "date-time"},
                "progress": {"type": "integer", "minimum": 0, "maximum": 100},
                "links": {"type": "array", "items": {"$ref": "#/components/schemas/link"}}}},
            "jobList": {"type": "object", "required": ["jobs", "links"], "properties": {
                "jobs": {"type": "array", "items": {"$ref": "#/components/schemas/statusInfo"}},
                "links": {"type": "array", "items": {"$ref": "#/components/schemas/link"}}}},
            "exception": {"type": "object", "required": ["type"], "properties": {
                "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                "detail": {"type": "string"}, "instance": {"type": "string"}}}
        }}
    })
}
