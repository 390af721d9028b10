// Hand-written helpers over the generated binding (sipsimple.kt).

package org.sipsimple

import org.json.JSONObject

/**
 * The notification's data as a JSON object (`timestamp` included; objects
 * appear as `{"handle": <u64>, "type": "<class>", "id": "<id>"}`).
 */
fun Notification.data(): JSONObject = JSONObject(dataJson)

/**
 * The handle of the object stored in the data field [key] (for example
 * `account` in `SIPAccountManagerDidAddAccount`), or `null` if the field is
 * absent or not an object reference.
 */
fun Notification.handleOf(key: String): ULong? =
    data().optJSONObject(key)?.takeIf { it.has("handle") }?.getLong("handle")?.toULong()

/**
 * Subscribes [handler] to the notifications named [name] (any if `null`)
 * posted by the object with handle [sender] (any if `null`). The handler runs
 * on the notification delivery thread. Keep the returned token: closing it
 * (or cancelling it) ends the subscription.
 */
fun NotificationCenter.observe(
    name: String? = null,
    sender: ULong? = null,
    handler: (Notification) -> Unit,
): ObserverToken =
    addObserver(
        object : NotificationObserver {
            override fun handleNotification(notification: Notification) = handler(notification)
        },
        name,
        sender,
    )
