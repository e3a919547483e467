//! A directory (`provisio serve`) and a target (`provisio scim-server`) as two processes,
//! with the Graph calls an Entra admin's script makes to provision from one to the other.

use std::time::Duration;

use serde_json::{json, Value};

use super::{Client, Server, TOKEN};

/// Polls `probe` until it gives a value (a liveness bound for a background process, not a
/// speed goal: the loop ends at the first success).
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..600 {
        if let Some(value) = probe().await {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: never happened");
}

pub struct World {
    _target: Server,
    _graph: Server,
    pub graph: Client,
    pub scim: Client,
    pub scim_url: String,
    pub sp: String,
}

pub async fn world() -> World {
    world_with_target(&[]).await
}

/// A world whose `provisio scim-server` gets `target_args` too.
pub async fn world_with_target(target_args: &[&str]) -> World {
    let target = Server::start(target_args);
    let graph_server = Server::start_graph(&[]);
    let graph = graph_server.client();
    let scim = target.client();
    let r = graph
        .post("/servicePrincipals", json!({"displayName": "Target app"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let sp = r.body["id"].as_str().expect("sp id").to_string();
    World {
        scim_url: target.scim.clone(),
        _target: target,
        _graph: graph_server,
        graph,
        scim,
        sp,
    }
}

impl World {
    pub fn sync(&self, rest: &str) -> String {
        format!("/servicePrincipals/{}/synchronization{rest}", self.sp)
    }

    pub async fn user(&self, login: &str, nickname: &str) -> String {
        let r = self
            .graph
            .post(
                "/users",
                json!({
                    "userPrincipalName": format!("{login}@contoso.test"),
                    "displayName": login, "mailNickname": nickname,
                    "accountEnabled": true, "department": "Sales"
                }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["id"].as_str().expect("id").to_string()
    }

    pub async fn assign(&self, principal: &str) -> String {
        let r = self
            .graph
            .post(
                &format!("/servicePrincipals/{}/appRoleAssignedTo", self.sp),
                json!({"principalId": principal, "resourceId": self.sp,
                       "appRoleId": "00000000-0000-0000-0000-000000000000"}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["id"].as_str().expect("id").to_string()
    }

    /// Microsoft's order: the template, a job from it, the secrets; not started yet.
    pub async fn job(&self) -> String {
        let r = self.graph.get(&self.sync("/templates")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body["value"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t["id"] == "scim")));
        let r = self
            .graph
            .post(&self.sync("/jobs"), json!({"templateId": "scim"}))
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let job = r.body["id"].as_str().expect("job id").to_string();
        let r = self
            .graph
            .put(
                &self.sync("/secrets"),
                json!({"value": [
                    {"key": "BaseAddress", "value": self.scim_url},
                    {"key": "SecretToken", "value": TOKEN}
                ]}),
            )
            .await;
        assert_eq!(r.status, 204, "{}", r.body);
        job
    }

    pub async fn start(&self, job: &str) {
        let r = self
            .graph
            .send("POST", &self.sync(&format!("/jobs/{job}/start")), None, &[])
            .await;
        assert_eq!(r.status, 204, "{}", r.body);
    }

    /// The target's user with this userName, once it has `check`.
    pub async fn target_user(&self, user_name: &str, check: impl Fn(&Value) -> bool) -> Value {
        let path = format!("/Users?filter=userName%20eq%20%22{user_name}%22");
        eventually(&format!("{user_name} in the target"), || async {
            let r = self.scim.get(&path).await;
            let found = r.body["Resources"].get(0).cloned()?;
            check(&found).then_some(found)
        })
        .await
    }

    pub async fn connections(&self, job: &str, query: &str) -> Vec<Value> {
        let r = self
            .graph
            .get(&self.sync(&format!("/jobs/{job}/objectConnections{query}")))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["value"].as_array().cloned().unwrap_or_default()
    }

    /// A security-enabled group with these direct members.
    pub async fn group(&self, name: &str, members: &[&str]) -> String {
        let r = self
            .graph
            .post(
                "/groups",
                json!({"displayName": name, "mailNickname": name,
                       "securityEnabled": true, "mailEnabled": false}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let group = r.body["id"].as_str().expect("id").to_string();
        for member in members {
            self.add_member(&group, member).await;
        }
        group
    }

    pub async fn add_member(&self, group: &str, member: &str) {
        let r = self
            .graph
            .post(
                &format!("/groups/{group}/members/$ref"),
                json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{member}")}),
            )
            .await;
        assert_eq!(r.status, 204, "{}", r.body);
    }

    pub async fn remove_member(&self, group: &str, member: &str) {
        let r = self
            .graph
            .delete(&format!("/groups/{group}/members/{member}/$ref"))
            .await;
        assert_eq!(r.status, 204, "{}", r.body);
    }

    pub async fn set_manager(&self, user: &str, manager: &str) {
        let r = self
            .graph
            .put(
                &format!("/users/{user}/manager/$ref"),
                json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{manager}")}),
            )
            .await;
        assert_eq!(r.status, 204, "{}", r.body);
    }

    pub async fn unassign(&self, assignment: &str) {
        let r = self
            .graph
            .delete(&format!(
                "/servicePrincipals/{}/appRoleAssignedTo/{assignment}",
                self.sp
            ))
            .await;
        assert_eq!(r.status, 204, "{}", r.body);
    }

    pub async fn patch_user(&self, user: &str, body: Value) {
        let r = self.graph.patch(&format!("/users/{user}"), body).await;
        assert_eq!(r.status, 204, "{}", r.body);
    }

    /// Saves the job's secrets: the target's address and token, and `extra`.
    pub async fn secrets(&self, extra: &[(&str, &str)]) {
        let mut value = vec![
            json!({"key": "BaseAddress", "value": self.scim_url}),
            json!({"key": "SecretToken", "value": TOKEN}),
        ];
        value.extend(extra.iter().map(|(k, v)| json!({"key": k, "value": v})));
        let r = self
            .graph
            .put(&self.sync("/secrets"), json!({"value": value}))
            .await;
        assert_eq!(r.status, 204, "{}", r.body);
    }

    pub async fn restart(&self, job: &str, reset_scope: &str) {
        let r = self
            .graph
            .post(
                &self.sync(&format!("/jobs/{job}/restart")),
                json!({"criteria": {"resetScope": reset_scope}}),
            )
            .await;
        assert_eq!(r.status, 204, "{reset_scope:?}: {}", r.body);
    }

    /// How many target users have this userName (0 when gone).
    pub async fn target_count(&self, user_name: &str) -> u64 {
        let path = format!("/Users?filter=userName%20eq%20%22{user_name}%22");
        let r = self.scim.get(&path).await;
        r.body["totalResults"].as_u64().unwrap_or_default()
    }

    /// The target's group with this displayName, once it has `check`.
    pub async fn target_group(&self, name: &str, check: impl Fn(&Value) -> bool) -> Value {
        let path = format!("/Groups?filter=displayName%20eq%20%22{name}%22");
        eventually(&format!("group {name} in the target"), || async {
            let r = self.scim.get(&path).await;
            let found = r.body["Resources"].get(0).cloned()?;
            check(&found).then_some(found)
        })
        .await
    }
}
