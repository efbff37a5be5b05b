//! The queue client against the emulator's queue service.
//!
//! Runs only when `DURAFN_TEST_AZURITE` is set (see `common::azurite`);
//! each test uses queues of its own. To run the emulator locally:
//!
//! ```text
//! npm install --prefix "$DIR" azurite
//! "$DIR/node_modules/.bin/azurite-queue" --queueHost 127.0.0.1 --queuePort 10001 \
//!     --inMemoryPersistence --skipApiVersionCheck --disableTelemetry --silent &
//! DURAFN_TEST_AZURITE=1 cargo test -p durafn-azure
//! ```

use crate::common;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::{
    assert_stale_receipt, delete, drop_queue, eventually, fresh_queue, receive_one, send, service,
};
use durafn_azure::queue::{
    MAX_BASE64_BODY_BYTES, MAX_MESSAGE_TEXT_BYTES, MessageEncoding, QueueError, SendOptions,
    TimeToLive, codes,
};

const LONG: Duration = Duration::from_secs(30);
const DEADLINE: Duration = Duration::from_secs(15);

fn near(a: chrono::DateTime<chrono::Utc>, b: chrono::DateTime<chrono::Utc>) -> bool {
    (a - b).num_milliseconds().abs() <= 2_000
}

#[tokio::test]
async fn create_and_delete_are_idempotent() {
    let Some(service) = service() else { return };
    let queue = fresh_queue(&service, "create").await;
    assert!(!queue.create().await.expect("creating twice"), "existed");
    assert_eq!(queue.approximate_message_count().await.expect("counts"), 0);
    assert!(queue.delete().await.expect("deletes"), "existed");
    assert!(!queue.delete().await.expect("deleting twice"), "gone");

    let err = queue
        .send(b"x", &SendOptions::default())
        .await
        .expect_err("the queue is gone");
    assert!(err.has_code(codes::QUEUE_NOT_FOUND), "{err:?}");
    assert!(!err.is_retryable(), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(queue.name()) && text.contains("404"),
        "{text}"
    );
}

#[tokio::test]
async fn send_peek_receive_delete() {
    let Some(service) = service() else { return };
    let queue = fresh_queue(&service, "roundtrip").await;
    let sent = send(&queue, b"hello").await;
    assert!(!sent.id.is_empty() && !sent.pop_receipt.is_empty());
    assert!(near(sent.next_visible_time, sent.insertion_time));
    assert!(near(
        sent.expiration_time,
        sent.insertion_time + chrono::Duration::days(7)
    ));

    let peeked = queue.peek(32).await.expect("peeks");
    assert_eq!(peeked.len(), 1);
    assert_eq!(peeked[0].id, sent.id);
    assert_eq!(peeked[0].dequeue_count, 0);
    assert_eq!(peeked[0].text, BASE64.encode("hello"));
    assert_eq!(peeked[0].body.as_deref().expect("decodes"), b"hello");

    let received = queue.receive(1, LONG).await.expect("receives");
    assert_eq!(received.len(), 1);
    let message = &received[0];
    assert_eq!(message.id, sent.id);
    assert_eq!(message.dequeue_count, 1);
    assert_eq!(message.body().expect("decodes").as_ref(), b"hello");
    assert_eq!(message.insertion_time, sent.insertion_time);
    assert_eq!(message.expiration_time, sent.expiration_time);
    assert!(near(
        message.next_visible_time,
        common::now() + chrono::Duration::seconds(30)
    ));
    assert_ne!(message.pop_receipt, sent.pop_receipt);

    // Invisible now: neither received nor peeked.
    assert!(queue.receive(32, LONG).await.expect("receives").is_empty());
    assert!(queue.peek(32).await.expect("peeks").is_empty());

    delete(&queue, message).await;
    let err = queue
        .delete_message(&message.id, &message.pop_receipt)
        .await
        .expect_err("already deleted");
    assert!(err.has_code(codes::MESSAGE_NOT_FOUND), "{err:?}");
    assert_eq!(queue.approximate_message_count().await.expect("counts"), 0);
    drop_queue(&queue).await;
}

#[tokio::test]
async fn a_receive_takes_at_most_32() {
    let Some(service) = service() else { return };
    let queue = fresh_queue(&service, "batch").await;
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..35 {
        let queue = queue.clone();
        sends.spawn(async move {
            queue
                .send(format!("m{i}").as_bytes(), &SendOptions::default())
                .await
        });
    }
    while let Some(sent) = sends.join_next().await {
        sent.expect("task").expect("sends");
    }
    assert_eq!(queue.approximate_message_count().await.expect("counts"), 35);
    assert_eq!(queue.peek(32).await.expect("peeks").len(), 32);
    let first = queue.receive(32, LONG).await.expect("receives");
    assert_eq!(first.len(), 32);
    let rest = queue.receive(32, LONG).await.expect("receives");
    assert_eq!(rest.len(), 3);
    let mut bodies: Vec<String> = first
        .iter()
        .chain(&rest)
        .map(|m| String::from_utf8(m.body().expect("decodes").to_vec()).expect("utf-8"))
        .collect();
    bodies.sort();
    bodies.dedup();
    assert_eq!(bodies.len(), 35, "each message once");

    for bad in [0, 33] {
        let err = queue.receive(bad, LONG).await.expect_err("out of range");
        assert!(matches!(err, QueueError::InvalidArgument { .. }), "{err:?}");
    }
    let err = queue
        .receive(1, Duration::ZERO)
        .await
        .expect_err("a receive hides for at least a second");
    assert!(matches!(err, QueueError::InvalidArgument { .. }), "{err:?}");
    drop_queue(&queue).await;
}

#[tokio::test]
async fn an_expired_visibility_timeout_returns_the_message() {
    let Some(service) = service() else { return };
    let queue = fresh_queue(&service, "visibility").await;
    send(&queue, b"again").await;
    let first = receive_one(&queue, Duration::from_secs(1)).await;
    assert_eq!(first.dequeue_count, 1);
    let second = eventually("the message reappearing", DEADLINE, || {
        let queue = queue.clone();
        async move { queue.receive(1, LONG).await.expect("receives").pop() }
    })
    .await;
    assert_eq!(second.id, first.id);
    assert_eq!(second.dequeue_count, 2);
    assert_ne!(second.pop_receipt, first.pop_receipt);
    // The first receipt is void now.
    let err = queue
        .delete_message(&first.id, &first.pop_receipt)
        .await
        .expect_err("stale receipt");
    assert_stale_receipt(&err);
    delete(&queue, &second).await;
    drop_queue(&queue).await;
}

#[tokio::test]
async fn updates_change_visibility_and_content_and_dequeue_counts_grow() {
    let Some(service) = service() else { return };
    let queue = fresh_queue(&service, "update").await;
    send(&queue, b"v1").await;
    let mut last_receipt = None;
    for expected in 1..=5 {
        let message = receive_one(&queue, LONG).await;
        assert_eq!(message.dequeue_count, expected);
        assert_eq!(message.body().expect("decodes").as_ref(), b"v1");
        let updated = queue
            .update_message(&message.id, &message.pop_receipt, Duration::ZERO, None)
            .await
            .expect("updates");
        assert_ne!(updated.pop_receipt, message.pop_receipt);
        assert!(near(updated.next_visible_time, common::now()));
        last_receipt = Some((message.id, message.pop_receipt));
    }
    // An update voids the receipt it was made with.
    let (id, stale) = last_receipt.expect("five receptions");
    let err = queue
        .update_message(&id, &stale, Duration::ZERO, None)
        .await
        .expect_err("stale receipt");
    assert_stale_receipt(&err);

    let message = receive_one(&queue, LONG).await;
    let updated = queue
        .update_message(
            &message.id,
            &message.pop_receipt,
            Duration::ZERO,
            Some(b"v2"),
        )
        .await
        .expect("replaces the content");
    let message = receive_one(&queue, LONG).await;
    assert_eq!(message.body().expect("decodes").as_ref(), b"v2");
    assert_eq!(message.dequeue_count, 7);
    assert_ne!(message.pop_receipt, updated.pop_receipt, "received again");
    drop_queue(&queue).await;
}

#[tokio::test]
async fn failing_messages_move_to_the_poison_queue() {
    let Some(service) = service() else { return };
    let queue = fresh_queue(&service, "poison").await;
    let body = br#"{"s":"10/10/2021","e":"10/12/2021"}"#;
    send(&queue, body).await;
    // What a queue trigger does with a function that keeps failing: give
    // the message back (visibility 0) until its dequeue count reaches the
    // maximum, then move it.
    const MAX_DEQUEUE_COUNT: u64 = 3;
    let moved = loop {
        let message = receive_one(&queue, LONG).await;
        if message.dequeue_count >= MAX_DEQUEUE_COUNT {
            break queue.move_to_poison(&message).await.expect("moves");
        }
        queue
            .update_message(&message.id, &message.pop_receipt, Duration::ZERO, None)
            .await
            .expect("gives back");
    };
    assert!(queue.peek(32).await.expect("peeks").is_empty());
    assert_eq!(queue.approximate_message_count().await.expect("counts"), 0);
    let poison = queue.poison_queue().expect("valid name");
    let copies = poison.peek(32).await.expect("the poison queue exists");
    assert_eq!(copies.len(), 1);
    assert_eq!(copies[0].id, moved.id);
    assert_eq!(copies[0].dequeue_count, 0);
    assert_eq!(copies[0].body.as_deref().expect("decodes"), body);
    drop_queue(&queue).await;
}

#[tokio::test]
async fn delayed_and_expiring_messages() {
    let Some(service) = service() else { return };
    let queue = fresh_queue(&service, "ttl").await;
    let delayed = queue
        .send(b"later", &SendOptions::delayed(Duration::from_secs(1)))
        .await
        .expect("sends");
    assert!(near(
        delayed.next_visible_time,
        delayed.insertion_time + chrono::Duration::seconds(1)
    ));
    assert!(
        queue.peek(1).await.expect("peeks").is_empty(),
        "not yet visible"
    );
    let seen = eventually("the delayed message appearing", DEADLINE, || {
        let queue = queue.clone();
        async move { queue.peek(1).await.expect("peeks").pop() }
    })
    .await;
    assert_eq!(seen.id, delayed.id);
    queue.clear().await.expect("clears");

    let short = SendOptions {
        time_to_live: TimeToLive::After(Duration::from_secs(2)),
        ..SendOptions::default()
    };
    let expiring = queue.send(b"soon gone", &short).await.expect("sends");
    assert!(near(
        expiring.expiration_time,
        expiring.insertion_time + chrono::Duration::seconds(2)
    ));
    eventually("the message expiring", DEADLINE, || {
        let queue = queue.clone();
        async move { queue.peek(1).await.expect("peeks").is_empty().then_some(()) }
    })
    .await;

    let forever = SendOptions {
        time_to_live: TimeToLive::Never,
        ..SendOptions::default()
    };
    let kept = queue.send(b"kept", &forever).await.expect("sends");
    assert_eq!(kept.expiration_time.format("%Y").to_string(), "9999");

    let err = queue
        .send(
            b"x",
            &SendOptions {
                visibility_timeout: Duration::from_secs(5),
                time_to_live: TimeToLive::After(Duration::from_secs(5)),
            },
        )
        .await
        .expect_err("hidden until it expires");
    assert!(matches!(err, QueueError::InvalidArgument { .. }), "{err:?}");
    drop_queue(&queue).await;
}

#[tokio::test]
async fn base64_and_plain_encodings() {
    let Some(service) = service() else { return };
    let queue = fresh_queue(&service, "encoding").await;
    let plain = queue.clone().with_encoding(MessageEncoding::None);

    // Any bytes go through base64; on the wire they are standard base64.
    let bytes: Vec<u8> = (0..=255).rev().collect();
    send(&queue, &bytes).await;
    let wire = plain
        .peek(1)
        .await
        .expect("peeks")
        .pop()
        .expect("a message");
    assert_eq!(wire.text, BASE64.encode(&bytes));
    assert_eq!(
        wire.body.as_deref().expect("plain text"),
        wire.text.as_bytes()
    );
    let message = receive_one(&queue, LONG).await;
    assert_eq!(message.body().expect("decodes").as_ref(), bytes.as_slice());
    delete(&queue, &message).await;

    // Plain text read by a base64 consumer does not decode; it is moved to
    // the poison queue as it was, as the Functions host does.
    let json = r#"{"s": "10/10/2021", "e": "10/12/2021"}"#;
    send(&plain, json.as_bytes()).await;
    let peeked = queue
        .peek(1)
        .await
        .expect("peeks")
        .pop()
        .expect("a message");
    assert!(peeked.body.is_err());
    let message = receive_one(&queue, LONG).await;
    let err = message.body().expect_err("not base64");
    assert!(err.to_string().contains("not valid base64"), "{err}");
    assert_eq!(message.text(), json);
    queue.move_to_poison(&message).await.expect("moves");
    let poisoned = plain
        .poison_queue()
        .expect("valid")
        .receive(1, LONG)
        .await
        .expect("receives")
        .pop()
        .expect("moved");
    assert_eq!(poisoned.body().expect("plain").as_ref(), json.as_bytes());
    drop_queue(&queue).await;
}

#[tokio::test]
async fn messages_up_to_the_size_limit() {
    let Some(service) = service() else { return };
    let queue = fresh_queue(&service, "large").await;
    let plain = queue.clone().with_encoding(MessageEncoding::None);

    let largest_text = "x".repeat(MAX_MESSAGE_TEXT_BYTES - 2) + "é"; // 64 KiB of UTF-8
    assert_eq!(largest_text.len(), MAX_MESSAGE_TEXT_BYTES);
    let largest_body: Vec<u8> = (0..MAX_BASE64_BODY_BYTES)
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    plain
        .send(largest_text.as_bytes(), &SendOptions::default())
        .await
        .expect("64 KiB of text fits");
    queue
        .send(&largest_body, &SendOptions::default())
        .await
        .expect("48 KiB base64-encoded fits");
    let received = plain.receive(2, LONG).await.expect("receives");
    assert_eq!(received.len(), 2);
    let text = received
        .iter()
        .find(|m| m.text().len() == largest_text.len() && m.text().ends_with('é'))
        .expect("the text message");
    assert_eq!(text.text(), largest_text);
    let encoded = received
        .iter()
        .find(|m| m.text() != largest_text)
        .expect("the base64 message");
    assert_eq!(
        MessageEncoding::Base64
            .decode(encoded.text())
            .expect("decodes"),
        largest_body
    );

    let err = plain
        .send(&[b'x'; MAX_MESSAGE_TEXT_BYTES + 1], &SendOptions::default())
        .await
        .expect_err("one byte too many");
    assert!(
        matches!(
            err,
            QueueError::MessageTooLarge {
                text_bytes: 65537,
                limit: 65536,
                ..
            }
        ),
        "{err:?}"
    );
    let err = queue
        .send(&vec![0; MAX_BASE64_BODY_BYTES + 1], &SendOptions::default())
        .await
        .expect_err("too large once encoded");
    assert!(
        err.to_string().contains("49153 bytes base64-encoded"),
        "{err}"
    );
    drop_queue(&queue).await;
}

#[tokio::test]
async fn xml_special_characters_survive() {
    let Some(service) = service() else { return };
    let queue = fresh_queue(&service, "xml").await;
    let plain = queue.clone().with_encoding(MessageEncoding::None);
    let texts = [
        r#"<order id="1">&amp; & ' " ]]> </order>"#,
        "&lt;not an entity&gt; &#13; &unknown;",
        "tabs\tand\nnewlines\n and carriage\r\nreturns\r",
        "  leading and trailing spaces  ",
        "日本語 🎉 \u{FFFD}",
        "",
    ];
    for text in texts {
        send(&plain, text.as_bytes()).await;
        let message = receive_one(&plain, LONG).await;
        assert_eq!(message.text(), text);
        delete(&plain, &message).await;
        send(&queue, text.as_bytes()).await;
        let message = receive_one(&queue, LONG).await;
        assert_eq!(message.body().expect("decodes").as_ref(), text.as_bytes());
        delete(&queue, &message).await;
    }
    let err = plain
        .send(b"bell\x07", &SendOptions::default())
        .await
        .expect_err("XML cannot carry U+0007");
    assert!(matches!(err, QueueError::InvalidMessageText(_)), "{err:?}");
    drop_queue(&queue).await;
}

#[tokio::test]
async fn clear_empties_the_queue() {
    let Some(service) = service() else { return };
    let queue = fresh_queue(&service, "clear").await;
    for i in 0..5 {
        send(&queue, &[i]).await;
    }
    assert_eq!(queue.approximate_message_count().await.expect("counts"), 5);
    queue.clear().await.expect("clears");
    assert!(queue.peek(32).await.expect("peeks").is_empty());
    assert_eq!(queue.approximate_message_count().await.expect("counts"), 0);
    drop_queue(&queue).await;
}
