package io.leafgate.leaf.config;

import java.nio.file.Path;
import java.util.Objects;

/**
 * One problem found in a config file: where it is and what is wrong. Its {@link #toString()} is
 * {@code file:line: message}, the form editors and terminals turn into a link.
 *
 * @param file the file the problem is in (an included file when the problem is there)
 * @param line the 1-based line of the key or value at fault
 * @param message what is wrong, as a sentence fragment without the location
 */
public record ConfigError(Path file, int line, String message) {

  /** Checks that every part is present. */
  public ConfigError {
    Objects.requireNonNull(file, "file");
    Objects.requireNonNull(message, "message");
  }

  /** An error located at a parsed value (its file and line). */
  public static ConfigError at(ConfigValue where, String message) {
    return new ConfigError(where.file(), where.line(), message);
  }

  @Override
  public String toString() {
    return file + ":" + line + ": " + message;
  }
}
