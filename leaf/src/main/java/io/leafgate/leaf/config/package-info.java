/**
 * The gateway's configuration: {@link io.leafgate.leaf.config.ServerOptions} and its
 * {@link io.leafgate.leaf.config.Defaults}, the parser for nats-server's config syntax
 * ({@link io.leafgate.leaf.config.ConfigParser}, producing
 * {@link io.leafgate.leaf.config.ConfigValue} trees that remember file and line), and
 * {@link io.leafgate.leaf.config.ConfigLoader}, which checks every key and reports all problems at
 * once as {@link io.leafgate.leaf.config.ConfigError}s ({@code file:line: message}).
 *
 * <p>Depends on the JDK only ({@link io.leafgate.leaf.config.Pem} reads TLS files with the JDK too).
 */
package io.leafgate.leaf.config;
