package io.leafgate.leaf.config;

import java.util.List;
import java.util.stream.Collectors;

/**
 * Thrown when a config file cannot be used. It carries every problem found in the file, not just
 * the first, so that an operator can fix them all in one edit; its message lists them one per line.
 */
public final class ConfigException extends Exception {
  private static final long serialVersionUID = 1L;

  private final List<ConfigError> errors;

  /** Wraps the given problems, which must not be empty. */
  public ConfigException(List<ConfigError> errors) {
    super(errors.stream().map(ConfigError::toString).collect(Collectors.joining("\n")));
    if (errors.isEmpty()) {
      throw new IllegalArgumentException("a ConfigException needs at least one error");
    }
    this.errors = List.copyOf(errors);
  }

  /** The problems, in file order (by file as first reported, then by line). */
  public List<ConfigError> errors() {
    return errors;
  }
}
