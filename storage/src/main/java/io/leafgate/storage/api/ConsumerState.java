package io.leafgate.storage.api;

/**
 * The persistent progress of a durable consumer. Everything delivered above the ack floor that is not
 * in {@code ackedAbove} is redelivered after a restart, as a redelivery: each such message was
 * delivered at least once, and {@code redelivered} says how often where it was more than once.
 * Within a last-per-subject first phase ({@code initialEnd}) only the last message of each subject
 * was delivered, so only those are owed there.
 *
 * @param deliveredConsumerSeq last consumer sequence handed out
 * @param deliveredStreamSeq last stream sequence handed out
 * @param ackFloorConsumerSeq consumer sequence at and below which everything is acknowledged
 * @param ackFloorStreamSeq the stream sequence of that floor
 * @param ackedAbove stream sequences above the floor that are acknowledged (out-of-order acks), ascending
 * @param redelivered unacknowledged messages delivered more than once, as pairs of stream sequence
 *     and deliveries so far ({@code [seq1, n1, seq2, n2, ...]}), ascending by sequence (nats-server's
 *     {@code Redelivered} map)
 * @param initialEnd for deliver policy last_per_subject, the stream's last sequence when the consumer
 *     was created: up to it the consumer delivers only the last message of each subject (its first
 *     phase), after it every message; 0 when there is no such phase or the ack floor has passed it
 */
public record ConsumerState(long deliveredConsumerSeq, long deliveredStreamSeq, long ackFloorConsumerSeq,
    long ackFloorStreamSeq, long[] ackedAbove, long[] redelivered, long initialEnd) {
  public static final ConsumerState INITIAL = new ConsumerState(0, 0, 0, 0, new long[0]);

  /** A state outside a last-per-subject first phase. */
  public ConsumerState(long deliveredConsumerSeq, long deliveredStreamSeq, long ackFloorConsumerSeq,
      long ackFloorStreamSeq, long[] ackedAbove, long[] redelivered) {
    this(deliveredConsumerSeq, deliveredStreamSeq, ackFloorConsumerSeq, ackFloorStreamSeq, ackedAbove, redelivered, 0);
  }

  /** A state with no message delivered more than once, outside a last-per-subject first phase. */
  public ConsumerState(long deliveredConsumerSeq, long deliveredStreamSeq, long ackFloorConsumerSeq,
      long ackFloorStreamSeq, long[] ackedAbove) {
    this(deliveredConsumerSeq, deliveredStreamSeq, ackFloorConsumerSeq, ackFloorStreamSeq, ackedAbove, new long[0], 0);
  }
}
