/**
 * The MQTT 3.1.1 and 5 adapter: a listener on Netty's MQTT codec whose clients share one subject
 * space with NATS clients. {@link io.leafgate.mqtt.topic} maps topics to subjects,
 * {@link io.leafgate.mqtt.message} is the message model and its stored form,
 * {@link io.leafgate.mqtt.store} keeps sessions, queued and retained messages in the local JetStream,
 * {@link io.leafgate.mqtt.session} holds session state and delivery, and
 * {@link io.leafgate.mqtt.server} speaks the protocol.
 */
package io.leafgate.mqtt;
