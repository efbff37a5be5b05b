// Drives a running durafn function app with the unmodified npm Durable Functions client
// (durable-functions v3). The DurableClient is built from the app's durable client binding the
// way the package's own tests build it (getClient needs a Functions invocation context), and
// sends every call to the binding's rpcBaseUrl without a key. Run by
// crates/durafn-host/tests/it/clients.rs against the host's test app, with NODE_PATH set to the
// node_modules the packages are installed in.
//
// Environment: DURAFN_BINDING (the binding's JSON text), DURAFN_ORIGIN (the app's public
// origin), TESTAPP_FIXED_MARKER (the file whose existence fixes the flaky activity). Every check
// throws on failure; the last line is a JSON summary.

"use strict";

const fs = require("fs");
const { HttpRequest } = require("@azure/functions");
const df = require("durable-functions");
const { DurableClient } = require("durable-functions/lib/src/durableClient/DurableClient");

const DEADLINE_MS = 30000;
const checks = [];

function ok(name) {
    checks.push(name);
    console.log(`ok: ${name}`);
}

function expect(condition, message) {
    if (!condition) {
        throw new Error(typeof message === "string" ? message : JSON.stringify(message));
    }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitStatus(client, id, wanted) {
    const want = Array.isArray(wanted) ? wanted : [wanted];
    const deadline = Date.now() + DEADLINE_MS;
    for (;;) {
        let status;
        try {
            status = await client.getStatus(id);
        } catch (e) {
            status = undefined; // not created yet: the client throws on 404
        }
        if (status && want.includes(status.runtimeStatus)) {
            return status;
        }
        expect(Date.now() < deadline, `${id} never became ${want}: ${status && status.runtimeStatus}`);
        await sleep(20);
    }
}

async function main() {
    const binding = JSON.parse(process.env.DURAFN_BINDING);
    const origin = process.env.DURAFN_ORIGIN;
    const marker = process.env.TESTAPP_FIXED_MARKER;
    expect(binding.rpcBaseUrl && binding.rpcBaseUrl.endsWith("/"), "rpcBaseUrl ends in /");
    const client = new DurableClient(binding);
    const startedAfter = new Date(Date.now() - 60000);

    // Start, without and with an id, with a version; an unknown orchestrator is refused.
    const generated = await client.startNew("approval-workflow", { input: { item: "book" } });
    expect(typeof generated === "string" && generated.length >= 16, generated);
    const named = await client.startNew("approval-workflow", {
        instanceId: "js-approval",
        input: { item: "pen" },
    });
    expect(named === "js-approval", named);
    const versioned = await client.startNew("orchestrator-function", {
        instanceId: "js-versioned",
        input: { start: "2021-10-10", end: "2021-10-12" },
        version: "3.0",
    });
    await waitStatus(client, versioned, "Completed");
    let refused = false;
    try {
        await client.startNew("no-such-orchestrator");
    } catch (e) {
        refused = String(e).includes("400") && String(e).includes("no-such-orchestrator");
    }
    expect(refused, "an unknown orchestrator is a 400 naming it");
    ok("startNew without id, with id, with version; unknown orchestrator");

    // Status.
    const status = await client.getStatus(versioned, { showHistory: true, showHistoryOutput: true });
    expect(status.runtimeStatus === "Completed" && status.output === 2, status);
    expect(status.input.start === "2021-10-10", "JavaScript sends the input once encoded");
    ok("getStatus");

    // Listing over more than one page: the client follows x-ms-continuation-token.
    const ids = [];
    for (let i = 0; i < 105; i++) {
        ids.push(`js-page-${String(i).padStart(3, "0")}`);
    }
    await Promise.all(
        ids.map((id) =>
            client.startNew("orchestrator-function", {
                instanceId: id,
                input: { start: "2021-10-10", end: "2021-10-11" },
            }),
        ),
    );
    for (const id of ids) {
        await waitStatus(client, id, "Completed");
    }
    const all = await client.getStatusAll();
    const seen = new Set(all.map((s) => s.instanceId));
    expect(all.length === seen.size, "no instance twice");
    expect(ids.every((id) => seen.has(id)), `getStatusAll pages through all (${all.length})`);
    expect(all.length > 100, "more than one page");
    const completed = await client.getStatusBy({
        createdTimeFrom: startedAfter,
        runtimeStatus: [df.OrchestrationRuntimeStatus.Completed],
    });
    expect(completed.length >= 106, `getStatusBy pages too: ${completed.length}`);
    expect(completed.every((s) => s.runtimeStatus === "Completed"), "only Completed ones");
    ok("getStatusAll and getStatusBy over more than one page");

    // Events, suspend and resume, terminate.
    await waitStatus(client, named, "Running");
    await client.raiseEvent(named, "approval", { approved: true, by: "js" });
    const approved = await waitStatus(client, named, "Completed");
    expect(approved.output.approved === true && approved.output.by === "js", approved.output);
    ok("raiseEvent into a waiting orchestration that completes with the event's data");

    await waitStatus(client, generated, "Running");
    await client.suspend(generated, "pause");
    await waitStatus(client, generated, "Suspended");
    await client.resume(generated, "go");
    await waitStatus(client, generated, "Running");
    ok("suspend and resume");

    await client.terminate(generated, "stopped by js");
    const terminated = await waitStatus(client, generated, "Terminated");
    expect(terminated.output === "stopped by js", terminated.output);
    await client.terminate(generated, "again"); // 410 resolves too
    ok("terminate (reason in output; again is accepted)");

    // Rewind a failed instance once its activity is fixed.
    const flaky = await client.startNew("flaky", { instanceId: "js-flaky", input: 9 });
    await waitStatus(client, flaky, "Failed");
    fs.writeFileSync(marker, "fixed");
    await client.rewind(flaky, "fixed");
    const rewound = await waitStatus(client, flaky, "Completed");
    expect(rewound.output === "fixed 9", rewound.output);
    ok("rewind");

    // The check-status responses.
    const waiting = await client.startNew("approval-workflow", { input: { item: "mug" } });
    const req = new HttpRequest({ method: "GET", url: `${origin}/api/client` });
    const pending = await client.waitForCompletionOrCreateCheckStatusResponse(req, waiting, {
        timeoutInMilliseconds: 300,
        retryIntervalInMilliseconds: 100,
    });
    expect(pending.status === 202, pending.status);
    const links = await pending.json();
    expect(links.id === waiting && links.statusQueryGetUri.startsWith(origin), links);
    await client.terminate(waiting, "done");
    const done = await client.waitForCompletionOrCreateCheckStatusResponse(req, versioned, {
        timeoutInMilliseconds: 5000,
        retryIntervalInMilliseconds: 50,
    });
    expect(done.status === 200 && (await done.json()) === 2, done.status);
    ok("createCheckStatusResponse / waitForCompletionOrCreateCheckStatusResponse");

    // Purge one and by filter.
    const purged = await client.purgeInstanceHistory(versioned);
    expect(purged.instancesDeleted === 1, purged);
    const nothing = await client.purgeInstanceHistory("js-never-started");
    expect(nothing.instancesDeleted === 0, nothing);
    const byFilter = await client.purgeInstanceHistoryBy({
        createdTimeFrom: startedAfter,
        runtimeStatus: [df.OrchestrationRuntimeStatus.Terminated],
    });
    expect(byFilter.instancesDeleted >= 2, byFilter);
    ok("purgeInstanceHistory and purgeInstanceHistoryBy");

    // Entities.
    const counter = new df.EntityId("counter", "js");
    const before = await client.readEntityState(counter);
    expect(!before.entityExists, "no state before the first signal");
    await client.signalEntity(counter, "add", 4);
    await client.signalEntity(counter, "add", 6);
    const deadline = Date.now() + DEADLINE_MS;
    for (;;) {
        const state = await client.readEntityState(counter);
        if (state.entityExists && state.entityState === 10) {
            break;
        }
        expect(Date.now() < deadline, `the signals were never applied: ${JSON.stringify(state)}`);
        await sleep(20);
    }
    ok("signalEntity then readEntityState");

    console.log(JSON.stringify({ checks: checks.length }));
}

main().catch((e) => {
    console.error(e && e.stack ? e.stack : e);
    process.exit(1);
});
