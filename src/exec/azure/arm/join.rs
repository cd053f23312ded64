//! Awaits a list of futures together: the reads of a pre-flight overlap, so its time is that
//! of the slowest chain of calls, not their sum. (tokio's `JoinSet` wants `'static` tasks;
//! these borrow the clients.)

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

/// Every future's output, in the order given, once all are ready.
pub async fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut pinned: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut results: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, slot) in pinned.iter_mut().zip(results.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *slot = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    results.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::join_all;
    use std::time::{Duration, Instant};

    #[test]
    fn futures_run_together_and_keep_their_order() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime");
        let started = Instant::now();
        let out = rt.block_on(join_all((1..=5u64).rev().map(|i| async move {
            tokio::time::sleep(Duration::from_millis(20 * i)).await;
            i
        })));
        assert_eq!(out, vec![5, 4, 3, 2, 1]);
        assert!(
            started.elapsed() < Duration::from_millis(250),
            "{:?}",
            started.elapsed()
        );
    }
}
