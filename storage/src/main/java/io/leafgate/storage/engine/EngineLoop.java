package io.leafgate.storage.engine;

import java.util.PriorityQueue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.tinylog.Logger;

/**
 * The JetStream engine's single thread: a task queue any thread may post to, timers, and a hook run
 * whenever the queue runs dry or a batch grows large (where the engine commits its group of writes
 * and flushes its output). Every piece of engine state is confined to this thread.
 */
final class EngineLoop {
  /** Most tasks run before the end-of-batch hook runs even though more are queued. */
  private static final int MAX_BATCH = 512;

  /** A cancellable timer. */
  static final class Timer implements Comparable<Timer> {
    final long deadline;
    final Runnable task;
    boolean cancelled;
    private final long order;

    Timer(long deadline, Runnable task, long order) {
      this.deadline = deadline;
      this.task = task;
      this.order = order;
    }

    void cancel() {
      cancelled = true;
    }

    @Override
    public int compareTo(Timer o) {
      int c = Long.compare(deadline, o.deadline);
      return c != 0 ? c : Long.compare(order, o.order);
    }
  }

  private final ConcurrentLinkedQueue<Runnable> queue = new ConcurrentLinkedQueue<>();
  private final AtomicInteger queued = new AtomicInteger();
  private final PriorityQueue<Timer> timers = new PriorityQueue<>();
  private final Runnable endOfBatch;
  private final Thread thread;
  private volatile boolean running = true;
  private volatile boolean parked;
  private long timerOrder;

  EngineLoop(String name, Runnable endOfBatch) {
    this.endOfBatch = endOfBatch;
    this.thread = new Thread(this::run, name);
    this.thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  boolean inLoop() {
    return Thread.currentThread() == thread;
  }

  /** Posts a task; callable from any thread. */
  void execute(Runnable task) {
    queue.add(task);
    queued.incrementAndGet();
    if (parked) {
      LockSupport.unpark(thread);
    }
  }

  /** Tasks waiting to run. */
  int backlog() {
    return queued.get();
  }

  /** Schedules a task after {@code delayNanos}; on the loop thread only. */
  Timer schedule(long delayNanos, Runnable task) {
    Timer t = new Timer(System.nanoTime() + Math.max(0, delayNanos), task, timerOrder++);
    timers.add(t);
    return t;
  }

  private void run() {
    while (running) {
      int n = 0;
      Runnable r;
      while (n < MAX_BATCH && (r = queue.poll()) != null) {
        queued.decrementAndGet();
        runSafely(r);
        n++;
      }
      long now = System.nanoTime();
      Timer t;
      while ((t = timers.peek()) != null && t.deadline - now <= 0) {
        timers.poll();
        if (!t.cancelled) {
          runSafely(t.task);
          n++;
        }
      }
      runSafely(endOfBatch);
      if (n == 0 && queue.isEmpty()) {
        parked = true;
        if (queue.isEmpty() && running) {
          Timer next = timers.peek();
          while (next != null && next.cancelled) {
            timers.poll();
            next = timers.peek();
          }
          if (next == null) {
            LockSupport.parkNanos(this, 1_000_000_000L);
          } else {
            long wait = next.deadline - System.nanoTime();
            if (wait > 0) {
              LockSupport.parkNanos(this, wait);
            }
          }
        }
        parked = false;
      }
    }
  }

  private static void runSafely(Runnable r) {
    try {
      r.run();
    } catch (Throwable e) {
      Logger.error(e, "JetStream engine task failed");
    }
  }

  /** Stops the loop after the tasks already queued; waits up to the given time. */
  void stop(long waitMillis) {
    execute(() -> running = false);
    try {
      thread.join(waitMillis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
