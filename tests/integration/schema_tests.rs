//! The schemas of `crate::schema` route each request to the model Batch documents for it and
//! reject what Batch rejects: misspelled fields, wrong types and enum values, and fields an
//! api-version no longer has.

use crate::plan_schema::good_pool;
use crate::schema::{is_iso8601_duration, Body, Version};
use serde_json::{json, Value};

#[test]
fn each_version_names_the_body_of_each_request_batchflow_sends() {
    let requests = [
        ("POST", "/pools", Body::CreatePool),
        ("POST", "/pools/cpu/resize", Body::ResizePool),
        ("POST", "/pools/cpu/enableautoscale", Body::EnableAutoScale),
        ("PATCH", "/pools/cpu", Body::PatchPool),
        ("POST", "/jobs", Body::CreateJob),
        ("PATCH", "/jobs/sweep", Body::PatchJob),
        ("POST", "/jobs/sweep/terminate", Body::TerminateJob),
        ("POST", "/jobs/sweep/tasks", Body::CreateTask),
        ("POST", "/jobs/sweep/addtaskcollection", Body::CreateTaskCollection),
    ];
    for version in Version::ALL {
        for (method, path, body) in requests {
            let model = version.body_model(method, path);
            assert_eq!(
                model.as_deref(),
                Ok(version.model(body)),
                "{version:?}: {method} {path}"
            );
            assert_eq!(version.body(version.model(body)), Some(body));
        }
        // A wrong path or method is caught, not mapped to something.
        for (method, path) in [
            ("POST", "/job"),
            ("POST", "/jobs/sweep/addtasks"),
            ("PATCH", "/pools/cpu/x"),
            ("POST", "/jobs/sweep"),
            ("GET", "/jobs/sweep"),
            ("POST", "/pools/"),
        ] {
            assert!(
                version.body_model(method, path).is_err(),
                "{version:?}: {method} {path} should map to no request body"
            );
        }
        // The waits of a plan read these.
        for path in ["/pools/cpu", "/jobs/sweep", "/pools/cpu/nodes", "/jobs/sweep/tasks"] {
            assert!(version.operation("GET", path).is_ok(), "{version:?}: GET {path}");
        }
        assert!(version.operation("PUT", "/pools").is_err(), "{version:?}");
    }
    assert_eq!(
        Version::V2024_02_01.body_model("PUT", "/jobs/sweep").as_deref(),
        Ok("JobUpdateParameter")
    );
}

/// `body` with `value` at `pointer` (its parent must exist).
fn with(body: &Value, pointer: &str, value: Value) -> Value {
    let mut body = body.clone();
    let (parent, key) = pointer.rsplit_once('/').expect("pointer");
    body.pointer_mut(parent).expect("parent")[key] = value;
    body
}

fn good_tasks() -> Value {
    json!({"value": [{
        "id": "train-0",
        "commandLine": "/bin/sh -c true",
        "userIdentity": {"autoUser": {"scope": "pool", "elevationLevel": "admin"}},
        "constraints": {"maxWallClockTime": "PT1H30M", "maxTaskRetryCount": 2},
        "dependsOn": {"taskIds": ["prepare"], "taskIdRanges": [{"start": 1, "end": 3}]}
    }]})
}

#[test]
fn both_versions_reject_misspelled_fields_wrong_types_and_values() {
    for version in Version::ALL {
        let pool = version.model(Body::CreatePool);
        let collection = version.model(Body::CreateTaskCollection);
        let errors_of = |model: &str, body: &Value| version.schema_errors(model, body);
        assert_eq!(errors_of(pool, &good_pool()), Vec::<String>::new(), "{version:?}");

        let mut misspelled = good_pool();
        let vm = misspelled["virtualMachineConfiguration"]
            .as_object_mut()
            .expect("object");
        let sku = vm.remove("nodeAgentSKUId").expect("nodeAgentSKUId");
        vm.insert("nodeAgentSkuId".into(), sku);
        let errors = errors_of(pool, &misspelled);
        assert!(
            errors.iter().any(|e| e.contains("nodeAgentSkuId")),
            "{version:?}: {errors:?}"
        );
        assert!(
            errors.iter().any(|e| e.contains("nodeAgentSKUId")),
            "{version:?}: the required field is missing too: {errors:?}"
        );

        for (pointer, value) in [
            ("/targetDedicatedNodes", json!("2")),
            ("/resizeTimeout", json!("15m")),
            (
                "/virtualMachineConfiguration/containerConfiguration",
                json!({"type": "docker"}),
            ),
            ("/startTask", json!({"commandLine": "true", "waitforSuccess": true})),
        ] {
            let errors = errors_of(pool, &with(&good_pool(), pointer, value));
            assert!(!errors.is_empty(), "{version:?}: {pointer} should be rejected");
        }

        assert_eq!(
            errors_of(collection, &good_tasks()),
            Vec::<String>::new(),
            "{version:?}"
        );
        for (pointer, value) in [
            ("/value/0/userIdentity/userName", json!("me")),
            ("/value/0/userIdentity/autoUser/elevationLevel", json!("Admin")),
            ("/value/0/constraints/maxWallClockTime", json!("P1W")),
            ("/value/0/dependsOn/taskIds", json!("prepare")),
            ("/value/0/dependsOn/taskIdRanges", json!([{"start": 1}])),
        ] {
            assert!(
                !errors_of(collection, &with(&good_tasks(), pointer, value)).is_empty(),
                "{version:?}: {pointer} should be rejected"
            );
        }

        let patch = version.model(Body::PatchJob);
        assert!(errors_of(patch, &json!({"onAllTasksComplete": "terminatejob"})).is_empty());
        assert!(!errors_of(patch, &json!({"onAllTasksComplete": "terminateJob"})).is_empty());
        assert!(!errors_of(patch, &json!({"onAllTaskComplete": "terminatejob"})).is_empty());
        let job = version.model(Body::CreateJob);
        assert!(!errors_of(job, &json!({"id": "j", "poolInfo": {"poolID": "cpu"}})).is_empty());
        assert!(errors_of(job, &json!({"id": "j", "poolInfo": {"poolId": "cpu"}})).is_empty());
        let terminate = version.model(Body::TerminateJob);
        assert!(errors_of(terminate, &json!({"terminateReason": "UserTerminate"})).is_empty());
        assert!(!errors_of(terminate, &json!({"reason": "UserTerminate"})).is_empty());
    }
}

/// Fields of 2024-02-01.19.0 request models that 2025-06-01's do not have (certificates,
/// Cloud Services pools and task authentication tokens were retired): the 2025 schema refuses
/// them, the 2024 swagger takes them.
#[test]
fn the_2025_models_refuse_fields_they_no_longer_have() {
    let pool_fields = [
        (
            "/certificateReferences",
            json!([{"thumbprint": "ab", "thumbprintAlgorithm": "sha1"}]),
        ),
        ("/targetNodeCommunicationMode", json!("simplified")),
        ("/applicationLicenses", json!(["maya"])),
        ("/resourceTags", json!({"team": "ml"})),
    ];
    for (pointer, value) in pool_fields {
        let body = with(&good_pool(), pointer, value);
        let old = Version::V2024_02_01;
        let new = Version::V2025_06_01;
        assert_eq!(
            old.schema_errors(old.model(Body::CreatePool), &body),
            Vec::<String>::new(),
            "{pointer}"
        );
        let errors = new.schema_errors(new.model(Body::CreatePool), &body);
        assert!(
            errors.iter().any(|e| e.contains(&pointer[1..])),
            "{pointer}: {errors:?}"
        );
    }
    let token = with(
        &good_tasks(),
        "/value/0/authenticationTokenSettings",
        json!({"access": ["job"]}),
    );
    let old = Version::V2024_02_01;
    let new = Version::V2025_06_01;
    assert!(old
        .schema_errors(old.model(Body::CreateTaskCollection), &token)
        .is_empty());
    let errors = new.schema_errors(new.model(Body::CreateTaskCollection), &token);
    assert!(
        errors.iter().any(|e| e.contains("authenticationTokenSettings")),
        "{errors:?}"
    );
}

/// What only the 2024 swagger says: int32 ranges and at most 100 tasks a collection. (The
/// 2025 models have neither; the plan checks count tasks themselves.)
#[test]
fn the_2024_swagger_bounds_integers_and_collections() {
    let v = Version::V2024_02_01;
    let huge = with(&good_pool(), "/taskSlotsPerNode", json!(4_294_967_296_u64));
    assert!(!v.schema_errors(v.model(Body::CreatePool), &huge).is_empty());
    let read_only = with(
        &good_pool(),
        "/virtualMachineConfiguration/imageReference/exactVersion",
        json!("1.0.0"),
    );
    assert!(!v.schema_errors(v.model(Body::CreatePool), &read_only).is_empty());
    let too_many = json!({"value": vec![good_tasks()["value"][0].clone(); 101]});
    assert!(!v
        .schema_errors(v.model(Body::CreateTaskCollection), &too_many)
        .is_empty());
}

#[test]
fn durations_read_as_batch_reads_them() {
    for ok in [
        "PT5M",
        "P1D",
        "PT1H30M",
        "P1DT2H",
        "PT0.5S",
        "P10675199DT2H48M5.4775807S",
    ] {
        assert!(is_iso8601_duration(ok), "{ok}");
    }
    for bad in [
        "", "P", "PT", "5M", "PT5", "PT5M1H", "P1W", "PT1.S", "PT1.5M", "-PT5M", "P1DT",
    ] {
        assert!(!is_iso8601_duration(bad), "{bad}");
    }
}
