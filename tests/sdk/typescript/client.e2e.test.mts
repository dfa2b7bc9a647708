// The TypeScript SDK against the real server: openapi-fetch (pinned in package.json) over the
// types openapi-typescript generates from the contract (generated/typescript/schema.d.ts, `make
// sdk`). Every request is typed by the contract's paths, every answer read as its typed body.
//
// Run by tests/sdk/test_typescript_client.py, which starts the server, compiles this file with
// `tsc --strict` and runs it with `node --test`, the API's base URL in TASK_API_URL.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";

import createClient, { type Client } from "openapi-fetch";

import type { components, paths } from "../../../generated/typescript/schema.js";

type Problem = components["schemas"]["Problem"];
type Task = components["schemas"]["Task"];
type TaskList = components["schemas"]["TaskList"];

function apiUrl(): string {
  const url = process.env["TASK_API_URL"];
  if (!url) {
    throw new Error("TASK_API_URL is not set: run this through tests/sdk/test_typescript_client.py");
  }
  return url;
}

const baseUrl = apiUrl();
const PASSWORD = "correct-horse-battery";
const anonymous = createClient<paths>({ baseUrl });

/** A new user, logged in: a client that sends its access token. */
async function signUp(): Promise<Client<paths>> {
  const email = `ts-${randomUUID().slice(0, 12)}@example.com`;
  const registered = await anonymous.POST("/auth/register", {
    body: { email, password: PASSWORD, full_name: "Ada" },
  });
  assert.equal(registered.response.status, 201);
  assert.equal(registered.data?.email, email);

  const login = await anonymous.POST("/auth/login", { body: { email, password: PASSWORD } });
  assert.equal(login.response.status, 200);
  assert.ok(login.data, "login returns a token pair");
  assert.equal(login.data.token_type, "bearer");
  return createClient<paths>({
    baseUrl,
    headers: { Authorization: `Bearer ${login.data.access_token}` },
  });
}

function assertProblem(problem: Problem | undefined, response: Response, status: number): Problem {
  assert.equal(response.status, status);
  assert.equal(response.headers.get("content-type"), "application/problem+json");
  assert.ok(problem, "an error response has a problem body");
  assert.equal(problem.status, status);
  assert.equal(problem.request_id, response.headers.get("x-request-id"));
  return problem;
}

test("register, log in and read the profile", async () => {
  const me = await signUp();
  const { data, response } = await me.GET("/users/me");
  assert.equal(response.status, 200);
  assert.equal(data?.full_name, "Ada");

  const { error, response: refused } = await anonymous.GET("/users/me");
  assertProblem(error, refused, 401);
});

test("create tasks and list them page by page", async () => {
  const me = await signUp();
  const created: Task[] = [];
  for (const title of ["one", "two", "three", "four", "five"]) {
    const { data, response } = await me.POST("/tasks", { body: { title, priority: "high" } });
    assert.equal(response.status, 201);
    assert.ok(data, "a created task is returned");
    assert.ok(response.headers.get("etag"), "a created task has an ETag");
    assert.equal(response.headers.get("location"), `/api/v1/tasks/${data.id}`);
    assert.deepEqual([data.title, data.priority, data.status], [title, "high", "todo"]);
    created.push(data);
  }

  const pages: TaskList[] = [];
  let cursor: string | null = null;
  do {
    const query: { per_page: number; sort: "created_at"; cursor?: string } = {
      per_page: 2,
      sort: "created_at",
    };
    if (cursor !== null) {
      query.cursor = cursor;
    }
    const { data, response } = await me.GET("/tasks", { params: { query } });
    assert.equal(response.status, 200);
    assert.ok(data, "a page is returned");
    assert.equal(data.per_page, 2);
    const link = response.headers.get("link");
    if (data.next_cursor === null) {
      assert.equal(link, null);
    } else {
      assert.ok(link?.endsWith(`cursor=${data.next_cursor}>; rel="next"`), `Link: ${link}`);
    }
    pages.push(data);
    cursor = data.next_cursor;
  } while (cursor !== null);
  assert.deepEqual(
    pages.map((page) => page.tasks.length),
    [2, 2, 1],
  );
  assert.deepEqual(
    pages.flatMap((page) => page.tasks.map((task) => task.id)),
    created.map((task) => task.id),
  );

  const invalid = await me.GET("/tasks", { params: { query: { per_page: 0 } } });
  const problem = assertProblem(invalid.error, invalid.response, 422);
  assert.ok(problem.errors && problem.errors.length > 0, "a 422 lists the field errors");
});

test("a stale If-Match is a typed 412 problem", async () => {
  const me = await signUp();
  const created = await me.POST("/tasks", { body: { title: "Write the report", priority: "low" } });
  assert.ok(created.data, "a created task is returned");
  const stale = created.response.headers.get("etag");
  assert.ok(stale, "a created task has an ETag");
  const task_id = created.data.id;

  const updated = await me.PATCH("/tasks/{task_id}", {
    params: { path: { task_id }, header: { "If-Match": stale } },
    body: { status: "in_progress" },
  });
  assert.equal(updated.response.status, 200);
  assert.equal(updated.data?.status, "in_progress");
  const current = updated.response.headers.get("etag");
  assert.ok(current && current !== stale, "the update gives a new ETag");

  const conflict = await me.PATCH("/tasks/{task_id}", {
    params: { path: { task_id }, header: { "If-Match": stale } },
    body: { status: "completed" },
  });
  // `error` is typed from the contract's error responses: a Problem.
  const problem: Problem = assertProblem(conflict.error, conflict.response, 412);
  assert.equal(problem.title, "Precondition Failed");
  assert.equal(problem.type, "about:blank");
  assert.equal(problem.instance, `/api/v1/tasks/${task_id}`);
  assert.equal(conflict.data, undefined);
  assert.equal(conflict.response.headers.get("etag"), current);

  const read = await me.GET("/tasks/{task_id}", { params: { path: { task_id } } });
  assert.equal(read.data?.status, "in_progress", "the stale write changed nothing");

  const deleted = await me.DELETE("/tasks/{task_id}", {
    params: { path: { task_id }, header: { "If-Match": current } },
  });
  assert.equal(deleted.response.status, 204);
  const gone = await me.GET("/tasks/{task_id}", { params: { path: { task_id } } });
  assertProblem(gone.error, gone.response, 404);
});
