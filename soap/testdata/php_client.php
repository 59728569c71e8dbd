<?php
// Drive the three WorkflowService operations with PHP's SoapClient (Debian php-cli php-soap).
// Usage: php php_client.php WSDL_URL VERSION AUTH USER PASSWORD [TASK_ID]
//   VERSION 1.1 | 1.2; AUTH basic | wsse-text | wsse-digest
// Prints one JSON object like zeep_client.py.
if ($argc < 6) { fwrite(STDERR, "usage: php_client.php WSDL VERSION AUTH USER PASSWORD [TASK]\n"); exit(2); }
[$_, $wsdl, $version, $auth, $user, $password] = $argv;
$task = $argv[6] ?? 'T-1001';
$opts = [
    'soap_version' => $version === '1.2' ? SOAP_1_2 : SOAP_1_1,
    'exceptions' => true,
    'cache_wsdl' => WSDL_CACHE_NONE,
    'trace' => true,
];
if ($auth === 'basic') {
    $opts['login'] = $user;
    $opts['password'] = $password;
    $opts['authentication'] = SOAP_AUTHENTICATION_BASIC;
}
$client = new SoapClient($wsdl, $opts);
const WSSE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
const WSU = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd';
const PROFILE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0';
function wsse_header(string $auth, string $user, string $password): SoapHeader {
    $u = htmlspecialchars($user, ENT_XML1);
    if ($auth === 'wsse-digest') {
        $nonce = random_bytes(16);
        $created = gmdate('Y-m-d\TH:i:s\Z');
        $digest = base64_encode(sha1($nonce . $created . $password, true));
        $pw = '<wsse:Password Type="' . PROFILE . '#PasswordDigest">' . $digest . '</wsse:Password>'
            . '<wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">'
            . base64_encode($nonce) . '</wsse:Nonce><wsu:Created>' . $created . '</wsu:Created>';
    } else {
        $pw = '<wsse:Password Type="' . PROFILE . '#PasswordText">' . htmlspecialchars($password, ENT_XML1) . '</wsse:Password>';
    }
    $xml = '<wsse:Security xmlns:wsse="' . WSSE . '" xmlns:wsu="' . WSU . '"><wsse:UsernameToken>'
        . '<wsse:Username>' . $u . '</wsse:Username>' . $pw . '</wsse:UsernameToken></wsse:Security>';
    return new SoapHeader(WSSE, 'Security', new SoapVar($xml, XSD_ANYXML), false);
}
function call(SoapClient $c, string $auth, string $user, string $password, string $op, array $params) {
    if ($auth !== 'basic') {
        $c->__setSoapHeaders([wsse_header($auth, $user, $password)]);
    }
    $resp = $c->__soapCall($op, [$params]);
    return $resp->{$op . 'Result'};
}
$out = [];
$out['ProcessInstanceTaskExternalAcknowledgement'] = call($client, $auth, $user, $password,
    'ProcessInstanceTaskExternalAcknowledgement', ['taskId' => $task, 'externalReference' => 'EXT-42']);
$out['ProcessInstanceTaskExternalUpdateMessage'] = call($client, $auth, $user, $password,
    'ProcessInstanceTaskExternalUpdateMessage', ['taskId' => $task, 'message' => "Technician on site <&> été ✓"]);
$out['ProcessInstanceTaskExternalReassignment'] = call($client, $auth, $user, $password,
    'ProcessInstanceTaskExternalReassignment', ['taskId' => $task, 'solution' => 'Replaced the fan', 'closed' => true]);
try {
    call($client, $auth, $user, $password, 'ProcessInstanceTaskExternalUpdateMessage', ['taskId' => 'no-such-task', 'message' => 'hello']);
    $out['unknown_task_fault'] = null;
} catch (SoapFault $f) {
    $out['unknown_task_fault'] = $f->getMessage();
}
// WCF reads a fault only from an HTTP 500 answer: the status the fault came with.
$out['unknown_task_fault_status'] = preg_match('#^HTTP/\S+ (\d{3})#', (string) $client->__getLastResponseHeaders(), $m) ? (int) $m[1] : null;
echo json_encode($out, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES), "\n";
