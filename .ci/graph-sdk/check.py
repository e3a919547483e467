"""Drives `provisio serve` with Microsoft's Graph SDK for Python (msgraph-sdk, stock client,
only the base URL changed) through the calls Graph scripts make against a directory.

Usage: python check.py BASE_URL TOKEN [SCIM_URL SCIM_TOKEN]
  BASE_URL like http://127.0.0.1:8080/v1.0; with a SCIM target, the synchronization calls of
  Microsoft's provisioning configuration guide run too (templates, a job, secrets,
  validateCredentials, start, the job's status, its schema, the provisioning log).

Each step is one SDK call (or a few that belong together) with what a script would rely on;
a failing step is reported with the SDK's error and the run goes on. The last line is
'sdk: N passed, M failed'; the exit status is 1 when a step failed.
"""

import asyncio
import sys
import traceback
import uuid

from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_abstractions.headers_collection import HeadersCollection
from msgraph import GraphServiceClient
from msgraph.generated.groups.item.members.graph_user.graph_user_request_builder import (
    GraphUserRequestBuilder,
)
from msgraph.generated.models.app_role_assignment import AppRoleAssignment
from msgraph.generated.models.group import Group
from msgraph.generated.models.password_profile import PasswordProfile
from msgraph.generated.models.reference_create import ReferenceCreate
from msgraph.generated.models.reference_update import ReferenceUpdate
from msgraph.generated.models.service_principal import ServicePrincipal
from msgraph.generated.models.synchronization_job import SynchronizationJob
from msgraph.generated.models.synchronization_secret import SynchronizationSecret
from msgraph.generated.models.synchronization_secret_key_string_value_pair import (
    SynchronizationSecretKeyStringValuePair,
)
from msgraph.generated.audit_logs.provisioning.provisioning_request_builder import (
    ProvisioningRequestBuilder,
)
from msgraph.generated.service_principals.item.synchronization.jobs.item.validate_credentials.validate_credentials_post_request_body import (
    ValidateCredentialsPostRequestBody,
)
from msgraph.generated.service_principals.item.synchronization.secrets.secrets_put_request_body import (
    SecretsPutRequestBody,
)
from msgraph.generated.models.user import User
from msgraph.generated.users.users_request_builder import UsersRequestBuilder
from msgraph.graph_request_adapter import GraphRequestAdapter
from msgraph_core import PageIterator
from msgraph_core.requests.batch_request_content import BatchRequestContent
from msgraph_core.requests.batch_request_item import BatchRequestItem


class StaticToken(AccessTokenProvider):
    """The admin token, for loopback only."""

    def __init__(self, token):
        self.token = token

    async def get_authorization_token(self, uri, additional_authentication_context=None):
        return self.token

    def get_allowed_hosts_validator(self):
        return AllowedHostsValidator(["127.0.0.1"])


def client_for(base_url, token):
    adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(StaticToken(token)))
    adapter.base_url = base_url
    return GraphServiceClient(request_adapter=adapter)


class Steps:
    def __init__(self):
        self.passed = 0
        self.failed = []

    async def run(self, name, coroutine):
        try:
            await coroutine
            self.passed += 1
            print(f"ok   {name}")
        except Exception as error:  # noqa: BLE001 - every failure is reported, then the run goes on
            self.failed.append(name)
            print(f"FAIL {name}: {type(error).__name__}: {error}")
            traceback.print_exc(limit=2, file=sys.stdout)


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def config(cls, **query):
    """A request configuration with query parameters (and ConsistencyLevel for $count)."""
    headers = HeadersCollection()
    if query.get("count"):
        headers.add("ConsistencyLevel", "eventual")
    return RequestConfiguration(query_parameters=cls(**query), headers=headers)


async def main(base_url, token, scim_url=None, scim_token=None):
    client = client_for(base_url, token)
    steps = Steps()
    run_id = uuid.uuid4().hex[:8]
    domain = "sdk.example"
    state = {}

    def new_user(name, department="Sales"):
        return User(
            account_enabled=True,
            display_name=f"{name} {run_id}",
            mail_nickname=f"{name}{run_id}",
            user_principal_name=f"{name}.{run_id}@{domain}",
            department=department,
            password_profile=PasswordProfile(password="Passw0rd!", force_change_password_next_sign_in=False),
        )

    async def create_users():
        for name, department in [("ann", "Sales"), ("bob", "Sales"), ("cyd", "Ops"), ("dee", "Ops")]:
            created = await client.users.post(new_user(name, department))
            check(created.id and created.user_principal_name.startswith(name), f"created {created}")
            state[name] = created

    async def get_by_id():
        user = await client.users.by_user_id(state["ann"].id).get()
        check(user.display_name == f"ann {run_id}", user.display_name)

    async def get_by_upn():
        user = await client.users.by_user_id(state["ann"].user_principal_name).get()
        check(user.id == state["ann"].id, f"{user.id} != {state['ann'].id}")

    async def patch_by_upn():
        await client.users.by_user_id(state["bob"].user_principal_name).patch(User(job_title="Buyer"))
        user = await client.users.by_user_id(state["bob"].id).get(
            config(UsersRequestBuilder.UsersRequestBuilderGetQueryParameters, select=["jobTitle"])
        )
        check(user.job_title == "Buyer", user.job_title)

    async def filter_select():
        page = await client.users.get(
            config(
                UsersRequestBuilder.UsersRequestBuilderGetQueryParameters,
                filter=f"startswith(displayName,'ann {run_id}')",
                select=["displayName", "department"],
            )
        )
        check([u.display_name for u in page.value] == [f"ann {run_id}"], [u.display_name for u in page.value])
        check(page.value[0].department == "Sales", page.value[0].department)

    async def count_and_paging():
        query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters
        page = await client.users.get(
            config(query, filter=f"endswith(mailNickname,'{run_id}')", count=True, top=2)
        )
        check(page.odata_count == 4, f"count {page.odata_count}")
        check(len(page.value) == 2 and page.odata_next_link, "first page of two with a next link")
        seen = []
        iterator = PageIterator(page, client.request_adapter)
        await iterator.iterate(lambda user: seen.append(user.id) or True)
        check(len(seen) == 4 and len(set(seen)) == 4, f"paged through {seen}")

    async def create_group():
        group = await client.groups.post(
            Group(
                display_name=f"Team {run_id}",
                mail_enabled=False,
                mail_nickname=f"team{run_id}",
                security_enabled=True,
            )
        )
        check(group.id, "group id")
        state["group"] = group
        state["inner"] = await client.groups.post(
            Group(
                display_name=f"Inner {run_id}",
                mail_enabled=False,
                mail_nickname=f"inner{run_id}",
                security_enabled=True,
            )
        )

    async def add_members():
        for name in ["ann", "bob", "cyd", "inner"]:
            await client.groups.by_group_id(state["group"].id).members.ref.post(
                ReferenceCreate(odata_id=f"{base_url}/directoryObjects/{state[name].id}")
            )
        members = await client.groups.by_group_id(state["group"].id).members.get()
        check(len(members.value) == 4, f"{len(members.value)} members")

    async def members_cast_to_users():
        members = await client.groups.by_group_id(state["group"].id).members.graph_user.get()
        users = sorted(state[name].id for name in ["ann", "bob", "cyd"])
        check(sorted(m.id for m in members.value) == users, "the users, not the inner group")

    async def members_cast_with_options():
        query = GraphUserRequestBuilder.GraphUserRequestBuilderGetQueryParameters
        page = await client.groups.by_group_id(state["group"].id).members.graph_user.get(
            config(query, count=True, filter="department eq 'Sales'", select=["displayName"], top=1)
        )
        check(page.odata_count == 2, f"count {page.odata_count}")
        check(len(page.value) == 1 and page.odata_next_link, "one of two, with a next link")
        check(page.value[0].department is None, "only the selected property")
        rest = await client.groups.by_group_id(state["group"].id).members.graph_user.with_url(
            page.odata_next_link
        ).get()
        check(len(rest.value) == 1, "the second page")

    async def member_of_cast_to_groups():
        groups = await client.users.by_user_id(state["ann"].id).member_of.graph_group.get()
        check([g.id for g in groups.value] == [state["group"].id], [g.id for g in groups.value])

    async def member_of_by_upn():
        groups = await client.users.by_user_id(state["cyd"].user_principal_name).member_of.get()
        check([g.id for g in groups.value] == [state["group"].id], [g.id for g in groups.value])

    async def remove_member():
        await client.groups.by_group_id(state["group"].id).members.by_directory_object_id(
            state["cyd"].id
        ).ref.delete()
        members = await client.groups.by_group_id(state["group"].id).members.get()
        check(len(members.value) == 3, f"{len(members.value)} members")

    async def set_manager():
        await client.users.by_user_id(state["bob"].id).manager.ref.put(
            ReferenceUpdate(odata_id=f"{base_url}/users/{state['ann'].id}")
        )
        manager = await client.users.by_user_id(state["bob"].id).manager.get()
        check(manager.id == state["ann"].id, manager.id)

    async def manager_by_upn():
        manager = await client.users.by_user_id(state["bob"].user_principal_name).manager.get()
        check(manager.id == state["ann"].id, manager.id)

    async def direct_reports():
        reports = await client.users.by_user_id(state["ann"].id).direct_reports.get()
        check([r.id for r in reports.value] == [state["bob"].id], [r.id for r in reports.value])

    async def users_delta():
        page = await client.users.delta.get()
        while page.odata_next_link:
            page = await client.users.delta.with_url(page.odata_next_link).get()
        check(page.odata_delta_link, "a delta link at the end")
        await client.users.by_user_id(state["dee"].id).patch(User(job_title="Planner"))
        changes = await client.users.delta.with_url(page.odata_delta_link).get()
        check([u.id for u in changes.value] == [state["dee"].id], [u.id for u in changes.value])

    async def groups_delta():
        page = await client.groups.delta.get()
        while page.odata_next_link:
            page = await client.groups.delta.with_url(page.odata_next_link).get()
        check(page.odata_delta_link, "a delta link at the end")
        await client.groups.by_group_id(state["group"].id).patch(Group(description="Renamed"))
        changes = await client.groups.delta.with_url(page.odata_delta_link).get()
        check([g.id for g in changes.value] == [state["group"].id], [g.id for g in changes.value])

    async def delete_and_restore():
        await client.users.by_user_id(state["dee"].user_principal_name).delete()
        deleted = await client.directory.deleted_items.graph_user.get()
        check(any(u.id == state["dee"].id for u in deleted.value), "dee in deleted items")
        await client.directory.deleted_items.by_directory_object_id(state["dee"].id).restore.post()
        user = await client.users.by_user_id(state["dee"].id).get()
        check(user.id == state["dee"].id, "restored")

    async def service_principal_assignment():
        sp = await client.service_principals.post(
            ServicePrincipal(app_id=str(uuid.uuid4()), display_name=f"App {run_id}")
        )
        assignment = await client.service_principals.by_service_principal_id(sp.id).app_role_assigned_to.post(
            AppRoleAssignment(
                principal_id=uuid.UUID(state["ann"].id),
                resource_id=uuid.UUID(sp.id),
                app_role_id=uuid.UUID(int=0),
            )
        )
        check(assignment.id, "assignment id")
        mine = await client.users.by_user_id(state["ann"].user_principal_name).app_role_assignments.get()
        check([a.resource_id for a in mine.value] == [uuid.UUID(sp.id)], [a.resource_id for a in mine.value])

    async def batch():
        content = BatchRequestContent()
        requests = [
            client.users.by_user_id(state["ann"].id).to_get_request_information(),
            client.groups.by_group_id(state["group"].id).to_get_request_information(),
        ]
        for number, information in enumerate(requests, start=1):
            item = BatchRequestItem(request_information=information)
            # The item's constructor keeps the absolute URL of a request with path
            # parameters, which Graph refuses in a batch; set_url makes it relative.
            item.set_url(item.url)
            content.add_request(str(number), item)
        response = await client.batch.post(batch_request_content=content)
        statuses = sorted(item.status for item in response.responses.values())
        check(statuses == [200, 200], statuses)

    async def empty_segment_after_base_url():
        # The SDK's client joins a base URL that ends with '/' and a path that starts with
        # one: GET /v1.0//users. Graph collapses the empty segment.
        slashed = client_for(base_url + "/", token)
        page = await slashed.users.get()
        check(any(u.id == state["ann"].id for u in page.value), "the users")

    async def synchronization():
        sp = await client.service_principals.post(
            ServicePrincipal(app_id=str(uuid.uuid4()), display_name=f"Provisioned {run_id}")
        )
        await client.service_principals.by_service_principal_id(sp.id).app_role_assigned_to.post(
            AppRoleAssignment(
                principal_id=uuid.UUID(state["ann"].id),
                resource_id=uuid.UUID(sp.id),
                app_role_id=uuid.UUID(int=0),
            )
        )
        sync = client.service_principals.by_service_principal_id(sp.id).synchronization
        templates = await sync.templates.get()
        check(any(t.id == "scim" for t in templates.value), "the scim template")
        job = await sync.jobs.post(SynchronizationJob(template_id="scim"))
        check(job.id.startswith("scim."), job.id)
        secret = lambda key, value: SynchronizationSecretKeyStringValuePair(key=key, value=value)
        await sync.secrets.put(
            SecretsPutRequestBody(
                value=[
                    secret(SynchronizationSecret.BaseAddress, scim_url),
                    secret(SynchronizationSecret.SecretToken, scim_token),
                ]
            )
        )
        jobs = sync.jobs.by_synchronization_job_id(job.id)
        await jobs.validate_credentials.post(
            ValidateCredentialsPostRequestBody(use_saved_credentials=True)
        )
        await jobs.start.post()
        for _ in range(300):
            current = await jobs.get()
            execution = current.status.last_execution if current.status else None
            if execution and execution.state:
                break
            await asyncio.sleep(0.1)
        check(execution is not None, "a cycle ran")
        check(str(execution.state).endswith("Succeeded"), f"state {execution.state}")
        schema = await jobs.schema.get()
        check(len(schema.synchronization_rules) >= 1, "the schema's rules")
        logs = await client.audit_logs.provisioning.get(
            config(
                ProvisioningRequestBuilder.ProvisioningRequestBuilderGetQueryParameters,
                filter=f"jobId eq '{job.id}'",
            )
        )
        check(
            any(row.source_identity and row.source_identity.id == state["ann"].id for row in logs.value),
            "Ann's row in the provisioning log",
        )

    await steps.run("create users", create_users())
    await steps.run("GET /users/{id}", get_by_id())
    await steps.run("GET /users/{userPrincipalName}", get_by_upn())
    await steps.run("PATCH /users/{userPrincipalName}", patch_by_upn())
    await steps.run("$filter startswith with $select", filter_select())
    await steps.run("$count and @odata.nextLink paging (PageIterator)", count_and_paging())
    await steps.run("create a security group", create_group())
    await steps.run("members/$ref add", add_members())
    await steps.run("members/graph.user", members_cast_to_users())
    await steps.run("members/graph.user with $count $filter $select $top", members_cast_with_options())
    await steps.run("memberOf/graph.group", member_of_cast_to_groups())
    await steps.run("memberOf by userPrincipalName", member_of_by_upn())
    await steps.run("members/{id}/$ref remove", remove_member())
    await steps.run("manager/$ref set", set_manager())
    await steps.run("manager by userPrincipalName", manager_by_upn())
    await steps.run("directReports", direct_reports())
    await steps.run("users/delta() and its delta link", users_delta())
    await steps.run("groups/delta()", groups_delta())
    await steps.run("DELETE by userPrincipalName, deletedItems/graph.user, restore", delete_and_restore())
    await steps.run("appRoleAssignedTo and appRoleAssignments by userPrincipalName", service_principal_assignment())
    await steps.run("$batch", batch())
    await steps.run("empty segment after the base URL (/v1.0//users)", empty_segment_after_base_url())
    if scim_url:
        await steps.run(
            "synchronization: templates, job, secrets, validateCredentials, start, status, schema, provisioning log",
            synchronization(),
        )

    print(f"sdk: {steps.passed} passed, {len(steps.failed)} failed")
    return 1 if steps.failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(*sys.argv[1:5])))
