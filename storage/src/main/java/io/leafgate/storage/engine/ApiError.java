package io.leafgate.storage.engine;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A JetStream API error as nats-server sends it: an HTTP-like code, a stable {@code err_code}, and a
 * description that clients compare as text (nats.js matches "stream not found").
 */
public final class ApiError extends Exception {
  private final int code;
  private final int errCode;

  public ApiError(int code, int errCode, String description) {
    super(description, null, false, false);
    this.code = code;
    this.errCode = errCode;
  }

  public int code() {
    return code;
  }

  public int errCode() {
    return errCode;
  }

  public String description() {
    return getMessage();
  }

  /** The {@code "error"} member. */
  public Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("code", code);
    m.put("err_code", errCode);
    m.put("description", getMessage());
    return m;
  }

  // The errors leafgate sends, with nats-server's codes and texts (server/errors.json).
  public static ApiError streamNotFound() {
    return new ApiError(404, 10059, "stream not found");
  }

  public static ApiError consumerNotFound() {
    return new ApiError(404, 10014, "consumer not found");
  }

  public static ApiError noMessageFound() {
    return new ApiError(404, 10037, "no message found");
  }

  public static ApiError badRequest() {
    return new ApiError(400, 10003, "bad request");
  }

  public static ApiError invalidJson() {
    return new ApiError(400, 10025, "invalid JSON");
  }

  public static ApiError streamNameInUse() {
    return new ApiError(400, 10058, "stream name already in use with a different configuration");
  }

  public static ApiError subjectsOverlap() {
    return new ApiError(400, 10065, "subjects overlap with an existing stream");
  }

  public static ApiError streamNameMismatch() {
    return new ApiError(400, 10056, "stream name in subject does not match request");
  }

  public static ApiError streamConfig(String why) {
    return new ApiError(500, 10052, why);
  }

  /** nats-server's JSStreamInvalidConfigF: code 500 whatever the reason. */
  public static ApiError streamInvalidConfig(String why) {
    return new ApiError(500, 10052, why);
  }

  public static ApiError streamNamePathSeparators() {
    return new ApiError(400, 10128, "Stream name can not contain path separators");
  }

  public static ApiError consumerNamePathSeparators() {
    return new ApiError(400, 10127, "Consumer name can not contain path separators");
  }

  public static ApiError streamUpdate(String why) {
    return new ApiError(500, 10069, why);
  }

  public static ApiError streamCreate(String why) {
    return new ApiError(500, 10049, why);
  }

  public static ApiError storageExceeded() {
    return new ApiError(500, 10047, "insufficient storage resources available");
  }

  public static ApiError expectedStream() {
    return new ApiError(400, 10060, "expected stream does not match");
  }

  public static ApiError wrongLastSequence(long last) {
    return new ApiError(400, 10071, "wrong last sequence: " + last);
  }

  public static ApiError wrongLastMsgId(String last) {
    return new ApiError(400, 10070, "wrong last msg ID: " + last);
  }

  public static ApiError messageTooBig() {
    return new ApiError(400, 10054, "message size exceeds maximum allowed");
  }

  public static ApiError headersTooBig() {
    return new ApiError(400, 10097, "header size exceeds maximum allowed of 64k");
  }

  public static ApiError storeFailed(String why) {
    return new ApiError(503, 10077, why);
  }

  public static ApiError rollupNotPermitted() {
    return new ApiError(500, 10111, "rollup not permitted");
  }

  public static ApiError rollupInvalid(String v) {
    return new ApiError(500, 10111, "rollup value invalid: \"" + v + "\"");
  }

  public static ApiError sealed() {
    return new ApiError(400, 10109, "invalid operation on sealed stream");
  }

  public static ApiError deleteNotPermitted() {
    return new ApiError(500, 10057, "message delete not permitted");
  }

  /** nats-server's JSStreamMsgDeleteFailedF with the store's reason. */
  public static ApiError messageDeleteFailed(String why) {
    return new ApiError(500, 10057, why);
  }

  public static ApiError sequenceNotFound(long seq) {
    return new ApiError(400, 10043, "sequence " + seq + " not found");
  }

  public static ApiError purgeNotPermitted() {
    return new ApiError(500, 10110, "stream purge not permitted");
  }

  public static ApiError insufficientResources() {
    return new ApiError(503, 10023, "insufficient resources");
  }

  public static ApiError storageFailure(String why) {
    return new ApiError(500, 10048, why);
  }

  public static ApiError consumerExists() {
    return new ApiError(400, 10148, "consumer already exists");
  }

  public static ApiError consumerDoesNotExist() {
    return new ApiError(400, 10149, "consumer does not exist");
  }

  public static ApiError consumerCreate(String why) {
    return new ApiError(500, 10012, why);
  }

  public static ApiError consumerBadRequest(int errCode, String why) {
    return new ApiError(400, errCode, why);
  }

  public static ApiError maxConsumers() {
    return new ApiError(400, 10026, "maximum consumers limit reached");
  }

  public static ApiError maxStreams() {
    return new ApiError(400, 10027, "maximum number of streams reached");
  }

  public static ApiError notEnabled() {
    return new ApiError(503, 10039, "JetStream not enabled for account");
  }

  public static ApiError replicasNotSupported() {
    return new ApiError(500, 10074, "replicas > 1 not supported in non-clustered mode");
  }

  public static ApiError messageTtlDisabled() {
    return new ApiError(400, 10166, "per-message TTL is disabled");
  }
}
