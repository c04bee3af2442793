// particle-api-js 12.0.3 against spark-mock: every call the library makes for login,
// user info, devices, functions, variables, events, signal, rename, claim/remove and
// tokens, with exact statuses and bodies for the profile (cloud-api.md, client-dialects.md §3).
//
//   node tests/clients/api_js.mjs <base url> <spark-2014|particle> <sim1 id> <spare id> <dormant id>
//
// NODE_PATH must name the node_modules folder that holds particle-api-js (the Rust test
// sets it to target/clients/node_modules). The cloud must have user@example.com/secret and
// mfa@example.com/secret with MFA code 123456 (asked for in the particle profile),
// sim1 online (led returns 1 for "on"; temp=42, humidity=51.5, door=true, status="ok"),
// the spare device online and unclaimed, and dormant offline with led and temp.
// Exits 0 after printing "OK", or 1 with the step that failed and why.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';

const [base, profile, SIM1, SPARE, DORMANT] = process.argv.slice(2);
if (!base || !['spark-2014', 'particle'].includes(profile) || !SIM1 || !SPARE || !DORMANT) {
	console.error('usage: node api_js.mjs <base url> <spark-2014|particle> <sim1 id> <spare id> <dormant id>');
	process.exit(2);
}
const modules = process.env.NODE_PATH;
if (!modules) {
	console.error('api_js.mjs: NODE_PATH must name the node_modules folder with particle-api-js');
	process.exit(2);
}
const require = createRequire(path.join(modules, 'api_js.cjs'));
const apiJsVersion = require(path.join(modules, 'particle-api-js', 'package.json')).version;
const Particle = require(path.join(modules, 'particle-api-js'));

const P = profile === 'particle';
const USER = 'user@example.com';
const PASSWORD = 'secret';
const BOGUS = '0123456789abcdef0123456789abcdef01234567';
// A user with multi-factor login (the particle profile asks for the code).
const MFA_USER = 'mfa@example.com';
const MFA_OTP = '123456';
const particle = new Particle({ baseUrl: base, clientId: 'particle', clientSecret: 'particle' });

// ---- matching ----------------------------------------------------------------------
// An expected value is a literal (compared strictly), an object or array (same keys in the
// same order, each matched), or a predicate for values that differ run to run.

const isToken = (v) => typeof v === 'string' && /^[0-9a-f]{40}$/.test(v);
const isIso = (v) => typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(v);
const isUserId = (v) => typeof v === 'string' && /^[0-9a-f]{24}$/.test(v);

let step = '(start)';
let checks = 0;

function match(actual, expected, where) {
	checks += 1;
	if (typeof expected === 'function') {
		assert.ok(expected(actual), `${where}: ${JSON.stringify(actual)} is not ${expected.name}`);
	} else if (Array.isArray(expected)) {
		assert.ok(Array.isArray(actual), `${where}: expected an array, got ${JSON.stringify(actual)}`);
		assert.equal(actual.length, expected.length, `${where}: length of ${JSON.stringify(actual)}`);
		expected.forEach((e, i) => match(actual[i], e, `${where}[${i}]`));
	} else if (expected !== null && typeof expected === 'object') {
		assert.ok(actual !== null && typeof actual === 'object' && !Array.isArray(actual),
			`${where}: expected an object, got ${JSON.stringify(actual)}`);
		assert.deepEqual(Object.keys(actual), Object.keys(expected), `${where}: keys of ${JSON.stringify(actual)}`);
		for (const k of Object.keys(expected)) {
			match(actual[k], expected[k], `${where}.${k}`);
		}
	} else {
		assert.equal(actual, expected, `${where}: ${JSON.stringify(actual)}`);
	}
}

/** A call that must succeed with `status` and `body`; returns the body. */
async function ok(name, call, status, body) {
	step = name;
	let r;
	try {
		r = await call();
	} catch (e) {
		throw new Error(`expected HTTP ${status}, got ${e.statusCode}: ${JSON.stringify(e.body)} (${e.message})`);
	}
	match(r.statusCode, status, 'status');
	match(r.body, body, 'body');
	return r.body;
}

/** A call that must fail with `status`, `body` and the library's error message. */
async function fails(name, call, status, body, message) {
	step = name;
	let r;
	try {
		r = await call();
	} catch (e) {
		match(e.statusCode, status, 'status');
		// The library parses the body and hangs the raw response on it: match the body
		// exactly as the server sent it.
		const raw = e.body && e.body.response && e.body.response.text;
		assert.equal(typeof raw, 'string', `no response text on ${JSON.stringify(e.body)}`);
		match(JSON.parse(raw), body, 'body');
		if (message !== undefined) {
			match(e.message ?? e.errorDescription, message, 'message');
		}
		return e;
	}
	throw new Error(`expected HTTP ${status}, but it succeeded: ${r.statusCode} ${JSON.stringify(r.body)}`);
}

/** The next `event` of an open stream, or a failure after `ms`. */
function nextEvent(stream, ms = 10000) {
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`no event within ${ms} ms`)), ms);
		stream.once('event', (e) => {
			clearTimeout(timer);
			resolve(e);
		});
	});
}

// ---- expected shapes per profile ------------------------------------------------------

const oauthError = (status, error, description) => (P
	? { error, error_description: description }
	: { code: status, error, error_description: description });
// A bad bearer token: 401 invalid_token today, 400 invalid_grant in 2014.
const badTokenStatus = P ? 401 : 400;
const badToken = oauthError(badTokenStatus, P ? 'invalid_token' : 'invalid_grant',
	'The access token provided is invalid.');
const badTokenMessage = (route) =>
	`HTTP error ${badTokenStatus} from ${base}${route} - The access token provided is invalid.`;

const tokenBody = (expiresIn) => {
	if (!P) {
		return { access_token: isToken, token_type: 'bearer', expires_in: expiresIn };
	}
	const body = { token_type: 'bearer', access_token: isToken, expires_in: expiresIn };
	// A token that never expires gets no refresh token.
	return expiresIn === 0 ? body : { ...body, refresh_token: isToken };
};

const SIM1_VARIABLES = { door: 'bool', humidity: 'double', status: 'string', temp: 'int32' };

function summary(id, name, online, functions, variables) {
	if (!P) {
		return { id, name, last_app: null, last_heard: isIso, connected: online };
	}
	return {
		id, name, last_app: null, last_ip_address: '127.0.0.1', last_heard: isIso,
		last_handshake_at: isIso, product_id: 0, online, connected: online, platform_id: 0,
		cellular: false, notes: null, functions, variables, status: 'normal',
		serial_number: null, mac_wifi: null, system_firmware_version: null,
	};
}

function detail(id, name, online, functions, variables) {
	if (!P) {
		return { id, name, connected: online, variables, functions, cc3000_patch_version: '1.29' };
	}
	return {
		...summary(id, name, online, functions, variables),
		owner: USER, firmware_updates_enabled: true, firmware_updates_forced: false,
	};
}

const functionResult = (returnValue) => (P
	? { id: SIM1, name: 'sim1', connected: true, return_value: returnValue }
	: { id: SIM1, name: 'sim1', last_app: null, connected: true, return_value: returnValue });

const variableResult = (name, result, deviceName = 'sim1') => (P
	? { name, result, coreInfo: { name: deviceName, deviceID: SIM1, connected: true, last_handshake_at: isIso } }
	: { cmd: 'VarReturn', name, result, coreInfo: { last_app: '', last_heard: isIso, connected: true, deviceID: SIM1 } });

const event = (name, data) => ({
	data, ttl: P ? 60 : '60', published_at: isIso, coreid: P ? 'api' : isUserId, name,
});

// ---- the run -----------------------------------------------------------------------

async function main() {
	match(apiJsVersion, '12.0.3', 'particle-api-js version');

	// Login: a wrong password, then the right one.
	await fails('login with a wrong password', () => particle.login({ username: USER, password: 'wrong' }),
		400, oauthError(400, 'invalid_grant', 'User credentials are invalid'),
		`HTTP error 400 from ${base}/oauth/token - User credentials are invalid`);
	let auth = (await ok('login', () => particle.login({ username: USER, password: PASSWORD }),
		200, tokenBody(7776000))).access_token;

	const userInfo = (username, mfa) => ({
		username, subscription_ids: [],
		account_info: { first_name: null, last_name: null, business_account: false },
		scim_provisioned: false, no_password: false, mfa: { enabled: mfa },
		wifi_device_count: 0, cellular_device_count: 0,
	});
	await ok('getUserInfo', () => particle.getUserInfo({ auth }), 200, userInfo(USER, false));
	if (P) {
		await ok('resetPassword', () => particle.resetPassword({ username: USER }), 200,
			{ ok: true, message: 'Password reset email sent.' });
	} else {
		await fails('resetPassword (no such route in 2014)', () => particle.resetPassword({ username: USER }),
			404, { ok: false, error: 'Not Found' });
	}

	// Multi-factor login: today the password alone answers mfa_required with a token that
	// sendOtp brings back with the one-time password; 2014 had no second factor.
	if (P) {
		const e = await fails('login of an MFA user', () => particle.login({ username: MFA_USER, password: PASSWORD }),
			403, { error: 'mfa_required', error_description: 'Multi-factor authentication required', mfa_token: isToken },
			`HTTP error 403 from ${base}/oauth/token - Multi-factor authentication required`);
		const mfaToken = JSON.parse(e.body.response.text).mfa_token;
		await fails('sendOtp with a wrong code', () => particle.sendOtp({ mfaToken, otp: '000000' }),
			400, oauthError(400, 'invalid_grant', 'Invalid otp'),
			`HTTP error 400 from ${base}/oauth/token - Invalid otp`);
		const mfaAuth = (await ok('sendOtp', () => particle.sendOtp({ mfaToken, otp: MFA_OTP }),
			200, tokenBody(7776000))).access_token;
		await ok('getUserInfo of the MFA user', () => particle.getUserInfo({ auth: mfaAuth }), 200,
			userInfo(MFA_USER, true));
	} else {
		await ok('login of the MFA user (no second factor in 2014)',
			() => particle.login({ username: MFA_USER, password: PASSWORD }), 200, tokenBody(7776000));
	}

	// Devices: sim1 online with its Describe, dormant offline; the spare is nobody's yet.
	const sim1Summary = summary(SIM1, 'sim1', true, ['led'], SIM1_VARIABLES);
	const dormantSummary = summary(DORMANT, 'dormant', false, ['led'], { temp: 'int32' });
	await ok('listDevices', () => particle.listDevices({ auth }), 200,
		P ? [dormantSummary, sim1Summary] : [sim1Summary, dormantSummary]);
	await ok('getDevice sim1', () => particle.getDevice({ deviceId: SIM1, auth }), 200,
		detail(SIM1, 'sim1', true, ['led'], SIM1_VARIABLES));
	await ok('getDevice by name', () => particle.getDevice({ deviceId: 'dormant', auth }), 200,
		detail(DORMANT, 'dormant', false, ['led'], { temp: 'int32' }));

	// Functions and variables.
	await ok('callFunction led on', () => particle.callFunction({ deviceId: SIM1, name: 'led', argument: 'on', auth }),
		200, functionResult(1));
	await ok('callFunction led off', () => particle.callFunction({ deviceId: 'sim1', name: 'led', argument: 'off', auth }),
		200, functionResult(0));
	for (const [name, value] of [['temp', 42], ['humidity', 51.5], ['door', true], ['status', 'ok']]) {
		await ok(`getVariable ${name}`, () => particle.getVariable({ deviceId: SIM1, name, auth }),
			200, variableResult(name, value));
	}

	// Errors: unknown function, unknown variable, the offline device.
	await fails('callFunction nofn', () => particle.callFunction({ deviceId: SIM1, name: 'nofn', argument: 'x', auth }),
		404, { ok: false, error: P ? 'Function nofn not found' : 'Function not found' },
		`HTTP error 404 from ${base}/v1/devices/${SIM1}/nofn`);
	await fails('getVariable novar', () => particle.getVariable({ deviceId: SIM1, name: 'novar', auth }),
		404, { ok: false, error: 'Variable not found' },
		`HTTP error 404 from ${base}/v1/devices/${SIM1}/novar`);
	const timedOut = P ? [400, { ok: false, error: 'Timed out.' }] : [408, { error: 'Timed out.' }];
	await fails('callFunction on the offline device', () => particle.callFunction({ deviceId: DORMANT, name: 'led', argument: 'on', auth }),
		...timedOut, `HTTP error ${timedOut[0]} from ${base}/v1/devices/${DORMANT}/led`);
	await fails('getVariable on the offline device', () => particle.getVariable({ deviceId: DORMANT, name: 'temp', auth }),
		...timedOut, `HTTP error ${timedOut[0]} from ${base}/v1/devices/${DORMANT}/temp`);

	// Events: a private event reaches my stream, a public one the firehose.
	step = 'getEventStream mine/temp';
	const mine = await particle.getEventStream({ deviceId: 'mine', name: 'temp', auth });
	try {
		const arrived = nextEvent(mine);
		await ok('publishEvent private', () => particle.publishEvent({ name: 'temp', data: 'hello', isPrivate: true, auth }),
			200, { ok: true });
		step = 'the private event on my stream';
		match(await arrived, event('temp', 'hello'), 'event');
	} finally {
		mine.abort();
	}
	step = 'getEventStream firehose/temp';
	const firehose = await particle.getEventStream({ name: 'temp', auth });
	try {
		const arrived = nextEvent(firehose);
		await ok('publishEvent public', () => particle.publishEvent({ name: 'temperature', data: '21.5', isPrivate: false, auth }),
			200, { ok: true });
		step = 'the public event on the firehose';
		match(await arrived, event('temperature', '21.5'), 'event');
	} finally {
		firehose.abort();
	}

	// Signal, rename.
	await ok('signalDevice on', () => particle.signalDevice({ deviceId: SIM1, signal: true, auth }),
		200, { id: SIM1, connected: true, signaling: true });
	await ok('signalDevice off', () => particle.signalDevice({ deviceId: 'sim1', signal: false, auth }),
		200, { id: SIM1, connected: true, signaling: false });
	await ok('renameDevice', () => particle.renameDevice({ deviceId: SIM1, name: 'sim2', auth }),
		200, P ? { id: SIM1, name: 'sim2', updated_at: isIso } : { ok: true, name: 'sim2' });
	await ok('getVariable through the new name', () => particle.getVariable({ deviceId: 'sim2', name: 'temp', auth }),
		200, variableResult('temp', 42, 'sim2'));
	await ok('renameDevice back', () => particle.renameDevice({ deviceId: 'sim2', name: 'sim1', auth }),
		200, P ? { id: SIM1, name: 'sim1', updated_at: isIso } : { ok: true, name: 'sim1' });

	// Claim and remove the spare device.
	await ok('claimDevice', () => particle.claimDevice({ deviceId: SPARE, auth }), 200, { ok: true, id: SPARE });
	await ok('getDevice claimed', () => particle.getDevice({ deviceId: 'spare', auth }), 200,
		{ ...detail(SPARE, 'spare', true, [], {}) });
	await ok('removeDevice', () => particle.removeDevice({ deviceId: SPARE, auth }), 200, { ok: true });
	await fails('getDevice removed', () => particle.getDevice({ deviceId: SPARE, auth }), 403, {
		error: 'Permission Denied',
		info: `I didn't recognize that device name or ID, try opening https://api.particle.io/v1/devices?access_token=${auth}`,
	});

	// Tokens with a lifetime, and one that never expires.
	const hour = (await ok('login for an hour', () => particle.login({ username: USER, password: PASSWORD, tokenDuration: 3600 }),
		200, tokenBody(3600))).access_token;
	if (!P) {
		// One token per user in 2014: the new grant replaced the first login.
		await fails('the replaced token', () => particle.getUserInfo({ auth }), ...[badTokenStatus, badToken], badTokenMessage('/v1/user'));
		auth = hour;
	}
	const forever = (await ok('login forever', () => particle.login({ username: USER, password: PASSWORD, tokenDuration: 0 }),
		200, tokenBody(0))).access_token;
	if (P) {
		await ok('deleteAccessToken (no auth)', () => particle.deleteAccessToken({ token: hour }), 200, { ok: true });
		await fails('the revoked token', () => particle.getUserInfo({ auth: hour }), badTokenStatus, badToken,
			badTokenMessage('/v1/user'));
	} else {
		// 2014 wants HTTP Basic to revoke a token; the library sends no auth.
		await fails('deleteAccessToken (no auth)', () => particle.deleteAccessToken({ token: forever }), 401, {
			ok: false,
			errors: ['Unauthorized. You must send username and password in HTTP Basic Auth to delete an access token.'],
		}, `HTTP error 401 from ${base}/v1/access_tokens/${forever}`);
		auth = forever;
	}
	await ok('getUserInfo with the never-expiring token', () => particle.getUserInfo({ auth: forever }), 200,
		(body) => body.username === USER);

	// Invalid tokens on every kind of call.
	await fails('getUserInfo with an invalid token', () => particle.getUserInfo({ auth: BOGUS }),
		badTokenStatus, badToken, badTokenMessage('/v1/user'));
	await fails('listDevices with an invalid token', () => particle.listDevices({ auth: BOGUS }),
		badTokenStatus, badToken, badTokenMessage('/v1/devices'));
	await fails('callFunction with an invalid token', () => particle.callFunction({ deviceId: SIM1, name: 'led', argument: 'on', auth: BOGUS }),
		badTokenStatus, badToken, badTokenMessage(`/v1/devices/${SIM1}/led`));
	await fails('publishEvent with an invalid token', () => particle.publishEvent({ name: 'temp', data: '1', auth: BOGUS }),
		badTokenStatus, badToken, badTokenMessage('/v1/devices/events'));
	step = 'getEventStream with an invalid token';
	try {
		const s = await particle.getEventStream({ deviceId: 'mine', auth: BOGUS });
		s.abort();
		throw new Error('expected the stream to be refused');
	} catch (e) {
		if (e instanceof Error) {
			throw e;
		}
		match(e, {
			statusCode: badTokenStatus,
			errorDescription: badTokenMessage('/v1/devices/events'),
			body: badToken,
		}, 'rejection');
	}

	// Log out: DELETE /v1/access_tokens/current, then the token is refused.
	await ok('deleteCurrentAccessToken', () => particle.deleteCurrentAccessToken({ auth }), 200, { ok: true });
	await fails('the logged-out token', () => particle.getUserInfo({ auth }), badTokenStatus, badToken,
		badTokenMessage('/v1/user'));
	// And every token at once.
	const last = (await ok('login again', () => particle.login({ username: USER, password: PASSWORD }),
		200, tokenBody(7776000))).access_token;
	await ok('deleteActiveAccessTokens', () => particle.deleteActiveAccessTokens({ auth: last }), 200, { ok: true });
	await fails('a token after deleteActiveAccessTokens', () => particle.listDevices({ auth: last }),
		badTokenStatus, badToken, badTokenMessage('/v1/devices'));
}

main().then(() => {
	console.log(`particle-api-js ${apiJsVersion} against ${profile}: OK (${checks} checks)`);
	process.exit(0);
}, (err) => {
	console.error(`particle-api-js ${apiJsVersion} against ${profile}: step "${step}" failed: ${err.message}`);
	process.exit(1);
});
