//! Workflow nodes to Batch request bodies.

use super::batch_api::*;
use super::identity;
use super::staging::{output_files, resource_files, Files};
use crate::graph::{
    AuxTask, BlobAuth, Elevation, EnvVar, Image, Job, Mount, MountKind, Pool, Registry, Scope, TaskSpec,
};
use crate::stdlib::facts::effective_node_agent;
use crate::value::iso8601;

/// The pool's body, with the metadata that says which workflow (and, once sent, which run)
/// made it.
pub fn pool(workflow: &str, pool: &Pool, registries: &[Registry], files: Files<'_>) -> PoolAddParameter {
    let image_reference = match &pool.image {
        Some(Image::Marketplace {
            publisher,
            offer,
            sku,
            version,
        }) => ImageReference {
            publisher: Some(publisher.clone()),
            offer: Some(offer.clone()),
            sku: Some(sku.clone()),
            version: Some(version.clone()),
            virtual_machine_image_id: None,
        },
        Some(Image::Managed { resource_id } | Image::Gallery { resource_id }) => ImageReference {
            virtual_machine_image_id: Some(resource_id.clone()),
            ..ImageReference::default()
        },
        None => ImageReference::default(),
    };
    let container_configuration = pool.containers.as_ref().map(|c| ContainerConfiguration {
        kind: ContainerType::DockerCompatible,
        container_image_names: c.images.iter().map(|i| i.value.clone()).collect(),
        container_registries: c
            .registries
            .iter()
            .filter_map(|r| registries.get(r.index()))
            .map(registry)
            .collect(),
    });
    let autoscale = pool.autoscale.is_some();
    let mut body = PoolAddParameter {
        id: pool.name.value.clone(),
        display_name: pool.display_name.clone(),
        vm_size: pool.vm_size.clone().unwrap_or_default(),
        virtual_machine_configuration: VirtualMachineConfiguration {
            image_reference,
            node_agent_sku_id: effective_node_agent(pool).unwrap_or_default(),
            container_configuration,
        },
        resize_timeout: pool.resize_timeout.filter(|_| !autoscale).map(iso8601),
        target_dedicated_nodes: (!autoscale).then(|| pool.dedicated.unwrap_or(0)),
        target_low_priority_nodes: (!autoscale).then(|| pool.low_priority.unwrap_or(0)),
        enable_auto_scale: autoscale.then_some(true),
        auto_scale_formula: pool.autoscale.clone(),
        auto_scale_evaluation_interval: pool.autoscale_interval.filter(|_| autoscale).map(iso8601),
        enable_inter_node_communication: pool.inter_node.filter(|b| *b),
        start_task: pool.start_task.as_ref().map(|(aux, _)| start_task(aux, files)),
        task_slots_per_node: pool.task_slots,
        mount_configuration: pool.mounts.iter().map(mount).collect(),
        metadata: Vec::new(),
    };
    body.metadata = identity::pool_metadata(workflow, &identity::spec(&body));
    body
}

/// A mount as `mountConfiguration` has it, at `$AZ_BATCH_NODE_MOUNTS_DIR/NAME`.
fn mount(m: &Mount) -> MountConfiguration {
    let path = m.name.value.clone();
    let options = m.options.clone();
    match &m.kind {
        MountKind::AzureFiles { url, account, key } => MountConfiguration {
            azure_file_share_configuration: Some(AzureFileShareConfiguration {
                account_name: account.clone(),
                azure_file_url: url.clone(),
                account_key: key.clone(),
                relative_mount_path: path,
                mount_options: options,
            }),
            ..MountConfiguration::default()
        },
        MountKind::Nfs { source } => MountConfiguration {
            nfs_mount_configuration: Some(NfsMountConfiguration {
                source: source.clone(),
                relative_mount_path: path,
                mount_options: options,
            }),
            ..MountConfiguration::default()
        },
        MountKind::Cifs {
            source,
            username,
            password,
        } => MountConfiguration {
            cifs_mount_configuration: Some(CifsMountConfiguration {
                username: username.clone(),
                source: source.clone(),
                relative_mount_path: path,
                mount_options: options,
                password: password.clone(),
            }),
            ..MountConfiguration::default()
        },
        MountKind::Blobfuse {
            account,
            container,
            auth,
        } => {
            let pick = |want: fn(&BlobAuth) -> Option<&String>| want(auth).cloned();
            MountConfiguration {
                azure_blob_file_system_configuration: Some(AzureBlobFileSystemConfiguration {
                    account_name: account.clone(),
                    container_name: container.clone(),
                    account_key: pick(|a| match a {
                        BlobAuth::Key(k) => Some(k),
                        _ => None,
                    }),
                    sas_key: pick(|a| match a {
                        BlobAuth::Sas(s) => Some(s),
                        _ => None,
                    }),
                    blobfuse_options: options,
                    relative_mount_path: path,
                    identity_reference: pick(|a| match a {
                        BlobAuth::Identity(i) => Some(i),
                        _ => None,
                    })
                    .map(|resource_id| IdentityReference { resource_id }),
                }),
                ..MountConfiguration::default()
            }
        }
    }
}

fn registry(r: &Registry) -> ContainerRegistry {
    ContainerRegistry {
        username: r.username.clone(),
        password: r.password.clone(),
        registry_server: r.server.clone().unwrap_or_default(),
        identity_reference: r.identity.clone().map(|resource_id| IdentityReference { resource_id }),
    }
}

fn start_task(aux: &AuxTask, files: Files<'_>) -> StartTask {
    let s = &aux.spec;
    StartTask {
        command_line: command(s),
        container_settings: container(s),
        resource_files: resource_files(&s.inputs, files),
        environment_settings: env(&s.env),
        user_identity: identity(s),
        max_task_retry_count: s.retries,
        wait_for_success: s.wait_for_success,
    }
}

/// The job's body: its id unique to the run (`NAME-<run-suffix>`), its display name the
/// workflow's and the job's unless the workflow names it.
pub fn job(workflow: &str, job: &Job, pool_id: &str, uses_dependencies: bool, files: Files<'_>) -> JobAddParameter {
    let name = &job.name.value;
    JobAddParameter {
        id: identity::job_id(name),
        display_name: Some(job.display_name.clone().unwrap_or_else(|| format!("{workflow}/{name}"))),
        priority: job.priority,
        constraints: job.max_wall_clock.map(|t| JobConstraints {
            max_wall_clock_time: iso8601(t),
        }),
        job_preparation_task: job.prep_task.as_ref().map(|aux| {
            let s = &aux.spec;
            let constraints = TaskConstraints {
                max_wall_clock_time: s.timeout.map(iso8601),
                max_task_retry_count: s.retries,
            };
            JobPreparationTask {
                command_line: command(s),
                container_settings: container(s),
                resource_files: resource_files(&s.inputs, files),
                environment_settings: env(&s.env),
                constraints: (!constraints.is_empty()).then_some(constraints),
                wait_for_success: s.wait_for_success,
                user_identity: identity(s),
            }
        }),
        job_release_task: job.release_task.as_ref().map(|aux| {
            let s = &aux.spec;
            JobReleaseTask {
                command_line: command(s),
                container_settings: container(s),
                resource_files: resource_files(&s.inputs, files),
                environment_settings: env(&s.env),
                max_wall_clock_time: s.timeout.map(iso8601),
                user_identity: identity(s),
            }
        }),
        common_environment_settings: env(&job.env),
        pool_info: PoolInformation {
            pool_id: pool_id.to_string(),
        },
        on_all_tasks_complete: OnAllTasksComplete::NoAction,
        uses_task_dependencies: uses_dependencies,
        metadata: identity::job_metadata(workflow, name),
    }
}

/// A task body of job `job` without `dependsOn` (the planner adds it).
pub fn task(id: &str, s: &TaskSpec, job: &str, files: Files<'_>) -> TaskAddParameter {
    let constraints = TaskConstraints {
        max_wall_clock_time: s.timeout.map(iso8601),
        max_task_retry_count: s.retries,
    };
    TaskAddParameter {
        id: id.to_string(),
        display_name: s.display_name.as_deref().map(str::to_string),
        command_line: command(s),
        container_settings: container(s),
        resource_files: resource_files(&s.inputs, files),
        output_files: output_files(&s.outputs, job, id, files),
        environment_settings: env(&s.env),
        constraints: (!constraints.is_empty()).then_some(constraints),
        required_slots: s.slots,
        user_identity: identity(s),
        multi_instance_settings: s.multi_instance.as_ref().map(|m| MultiInstanceSettings {
            number_of_instances: m.nodes,
            coordination_command_line: m.coordination.to_string(),
        }),
        depends_on: None,
    }
}

fn command(s: &TaskSpec) -> String {
    s.command.as_deref().unwrap_or("").to_string()
}

fn container(s: &TaskSpec) -> Option<TaskContainerSettings> {
    s.container.as_ref().map(|image| TaskContainerSettings {
        container_run_options: s.run_options.as_deref().map(str::to_string),
        image_name: image.to_string(),
    })
}

fn identity(s: &TaskSpec) -> Option<UserIdentity> {
    if s.elevation.is_none() && s.scope.is_none() {
        return None;
    }
    Some(UserIdentity {
        auto_user: AutoUserSpecification {
            scope: s.scope.map(|sc| match sc {
                Scope::Pool => AutoUserScope::Pool,
                Scope::Task => AutoUserScope::Task,
            }),
            elevation_level: s.elevation.map(|e| match e {
                Elevation::Admin => ElevationLevel::Admin,
                Elevation::NonAdmin => ElevationLevel::NonAdmin,
            }),
        },
    })
}

fn env(vars: &[EnvVar]) -> Vec<EnvironmentSetting> {
    vars.iter()
        .map(|v| EnvironmentSetting {
            name: v.name.to_string(),
            value: v.value.to_string(),
        })
        .collect()
}
