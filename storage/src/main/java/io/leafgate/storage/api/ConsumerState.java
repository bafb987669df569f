package io.leafgate.storage.api;

/**
 * The persistent progress of a durable consumer. Everything delivered above the ack floor that is not
 * in {@code ackedAbove} is redelivered after a restart, as a redelivery: each such message was
 * delivered at least once, and {@code redelivered} says how often where it was more than once.
 *
 * @param deliveredConsumerSeq last consumer sequence handed out
 * @param deliveredStreamSeq last stream sequence handed out
 * @param ackFloorConsumerSeq consumer sequence at and below which everything is acknowledged
 * @param ackFloorStreamSeq the stream sequence of that floor
 * @param ackedAbove stream sequences above the floor that are acknowledged (out-of-order acks), ascending
 * @param redelivered unacknowledged messages delivered more than once, as pairs of stream sequence
 *     and deliveries so far ({@code [seq1, n1, seq2, n2, ...]}), ascending by sequence (nats-server's
 *     {@code Redelivered} map)
 */
public record ConsumerState(long deliveredConsumerSeq, long deliveredStreamSeq, long ackFloorConsumerSeq,
    long ackFloorStreamSeq, long[] ackedAbove, long[] redelivered) {
  public static final ConsumerState INITIAL = new ConsumerState(0, 0, 0, 0, new long[0]);

  /** A state with no message delivered more than once. */
  public ConsumerState(long deliveredConsumerSeq, long deliveredStreamSeq, long ackFloorConsumerSeq,
      long ackFloorStreamSeq, long[] ackedAbove) {
    this(deliveredConsumerSeq, deliveredStreamSeq, ackFloorConsumerSeq, ackFloorStreamSeq, ackedAbove, new long[0]);
  }
}
