package io.leafgate.storage.api;

/**
 * The persistent progress of a durable consumer. Everything delivered above the ack floor that is not
 * in {@code ackedAbove} is redelivered after a restart.
 *
 * @param deliveredConsumerSeq last consumer sequence handed out
 * @param deliveredStreamSeq last stream sequence handed out
 * @param ackFloorConsumerSeq consumer sequence at and below which everything is acknowledged
 * @param ackFloorStreamSeq the stream sequence of that floor
 * @param ackedAbove stream sequences above the floor that are acknowledged (out-of-order acks), ascending
 */
public record ConsumerState(long deliveredConsumerSeq, long deliveredStreamSeq, long ackFloorConsumerSeq,
    long ackFloorStreamSeq, long[] ackedAbove) {
  public static final ConsumerState INITIAL = new ConsumerState(0, 0, 0, 0, new long[0]);
}
