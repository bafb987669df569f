package io.leafgate.mqtt.session;

import io.leafgate.mqtt.message.AppMessage;

/**
 * A client's Will Message: what to publish when its connection ends without a normal DISCONNECT,
 * after {@code delaySeconds} (v5 Will Delay Interval) unless the session is resumed first. Its
 * Message Expiry Interval ({@code messageExpirySeconds}, -1 for none) starts when it is published.
 */
public record Will(AppMessage message, long delaySeconds, long messageExpirySeconds) {}
